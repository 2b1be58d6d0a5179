"""A job's best candidates as the job page and the ``candidates`` command show them: the CV search
(core.matching.candidates) with each candidate's evidence, label and explanation.

Only the top ``explained`` candidates are ever sent to be explained; below them an explanation is
"not requested", never "pending", since none is on its way.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.matching.candidates import Candidate, CandidateFilters, candidates_for_job
from core.matching.matcher import SCORE_EPSILON
from core.models import CandidateExplanation, ExplanationStatus, Job, ScoreBands
from core.operations.score_bands import current_bands
from core.selectors.match_labels import MatchEvidence, match_evidence
from core.selectors.predictions import NOT_REQUESTED


@dataclass(frozen=True)
class RankedCandidate:
    rank: int
    candidate: Candidate
    evidence: MatchEvidence
    explanation: CandidateExplanation | None

    @property
    def explanation_state(self) -> str:
        """done / pending / queued / failed, "outdated" if asked at another score, or "not requested"."""
        if self.explanation is None:
            return NOT_REQUESTED
        if abs(self.explanation.score - self.candidate.score) > SCORE_EPSILON:
            return "outdated"
        return self.explanation.explanation_status

    @property
    def explanation_text(self) -> str:
        if self.explanation_state == ExplanationStatus.DONE:
            return self.explanation.explanation
        if self.explanation_state == ExplanationStatus.FAILED:
            return self.explanation.explanation_error
        return ""


def ranked_candidates(
    job: Job, top: int = 20, filters: CandidateFilters | None = None, bands: ScoreBands | None = None
) -> list[RankedCandidate]:
    """The job's ``top`` candidates, best score first, each labelled from its evidence."""
    bands = bands if bands is not None else current_bands()
    candidates = candidates_for_job(job.pk, top, filters)
    explanations = {
        row.cv_id: row
        for row in CandidateExplanation.objects.filter(job=job, cv_id__in=[c.cv_id for c in candidates]).only(
            "cv_id", "score", "explanation", "explanation_status", "explanation_error"
        )
    }
    return [
        RankedCandidate(
            rank=rank,
            candidate=candidate,
            evidence=match_evidence(
                candidate.score, job.title, job.skills, candidate.parsed, candidate.raw_text, bands
            ),
            explanation=explanations.get(candidate.cv_id),
        )
        for rank, candidate in enumerate(candidates, start=1)
    ]
