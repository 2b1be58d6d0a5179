"""Batch kind ``candidate_explanation``: why a CV is among a job's best candidates, keyed by job and CV.

The same request and answer as the ``explanation`` kind (one prompt, one chat call); only the row
differs, a CandidateExplanation a recruiter asked for (core.operations.candidates) instead of a
prediction the matcher made, so the two are kept apart and neither overwrites the other.
"""

from __future__ import annotations

from core.models import BatchKind, CandidateExplanation
from core.stages.explanation import ExplanationKind


class CandidateExplanationKind(ExplanationKind):
    kind = BatchKind.CANDIDATE_EXPLANATION
    label = "explain candidates"
    item_field = "candidate"
    model = CandidateExplanation
    # With the other explanations, once CVs are matched: a request made while job embeddings are still
    # coming waits for them (scores are settled by then), and progress lists it beside "explain matches".
    after_matching = True

    def scope(self):
        return CandidateExplanation.objects.all()

    def custom_id(self, row) -> str:
        return f"candidate-{row.job_id}-{row.cv_id}"
