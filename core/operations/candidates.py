"""A recruiter asks for the top candidates of a job to be explained: the rows the batch kind
``candidate_explanation`` (core.stages.candidate_explanation) then sends and fills in.

Safe to run twice or concurrently: a candidate already asked for at the same score is left as it is
(pending, queued, done or failed); one whose score moved since (its CV was embedded again) is asked
again at a new input version, so an answer in flight for the old score is superseded, not applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from core.matching.candidates import CandidateFilters, candidates_for_job
from core.matching.matcher import SCORE_EPSILON
from core.models import CandidateExplanation, ExplanationStatus


@dataclass
class ExplanationRequest:
    requested: int = 0  # new rows, pending
    renewed: int = 0  # rows whose score moved, pending again
    unchanged: int = 0


def request_candidate_explanations(
    job_id: int, top: int, filters: CandidateFilters | None = None
) -> ExplanationRequest:
    """Make sure the job's ``top`` candidates (by the same search the job page shows) get explained."""
    report = ExplanationRequest()
    if top < 1:
        return report
    scores = {candidate.cv_id: candidate.score for candidate in candidates_for_job(job_id, top, filters)}
    with transaction.atomic():
        existing = {
            row.cv_id: row
            for row in CandidateExplanation.objects.select_for_update().filter(job_id=job_id, cv_id__in=list(scores))
        }
        new = [
            CandidateExplanation(job_id=job_id, cv_id=cv_id, score=s)
            for cv_id, s in scores.items()
            if cv_id not in existing
        ]
        # A concurrent request may insert the same rows first: theirs stand, and they are as good as ours.
        CandidateExplanation.objects.bulk_create(new, ignore_conflicts=True)
        report.requested = len(new)
        for cv_id, row in existing.items():
            if abs(row.score - scores[cv_id]) <= SCORE_EPSILON:
                report.unchanged += 1
                continue
            row.score = scores[cv_id]
            row.explanation, row.explanation_error = "", ""
            row.explanation_status = ExplanationStatus.PENDING
            row.explanation_attempts = 0
            row.explanation_version += 1
            row.save()
            report.renewed += 1
    return report
