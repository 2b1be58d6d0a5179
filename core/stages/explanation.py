"""Batch kind ``explanation``: a short written reason for each of a CV's top matches."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch

from core.batches.bulk_sql import update_by_id
from core.batches.kinds import WorkState
from core.models import CV, BatchKind, ExplanationStatus, Job, Prediction
from core.services.openai_limits import cut_to_tokens
from core.stages.chat import ChatKind, chat_answer
from core.stages.profile_text import resume_text

SYSTEM_PROMPT = (
    "You help recruiters triage candidates. Given a candidate profile, a job posting and their match "
    "score (cosine similarity, 0 to 1), explain in two or three sentences why the candidate fits the job: "
    "name the skills and experience they share, then what the job asks for that the profile lacks. Be "
    "factual and specific; do not invent experience."
)
MAX_PROFILE_CHARS = 4000
# The description is the one part of the prompt an importer lets grow large (100,000 characters, which in
# emoji or CJK is well over a chat model's context): it is cut by OpenAI's count, so the request always fits.
MAX_DESCRIPTION_TOKENS = 4000


def _profile_text(cv: CV) -> str:
    """The CV's profile as the prompt shows it, kept on the instance: a CV's top predictions share one
    instance when submitted together (``ExplanationKind.pending`` prefetches the CVs), so its profile is
    written once, not once per prediction (a tenth of submitting the explanations)."""
    kept = getattr(cv, "_explanation_profile", None)
    if kept is not None and kept[0] is cv.parsed:  # the same resume: a reloaded or edited one is another object
        return kept[1]
    text = resume_text(cv.parsed) if cv.parsed else cv.raw_text
    cv._explanation_profile = (cv.parsed, text)
    return text


def explanation_prompt(prediction: Prediction) -> str:
    cv, job = prediction.cv, prediction.job
    profile = _profile_text(cv)
    return "\n".join(
        [
            "Candidate profile:",
            profile[:MAX_PROFILE_CHARS],
            "",
            "Job posting:",
            f"Title: {job.title}",
            f"Company: {job.company}",
            f"Location: {job.location}",
            f"Skills: {', '.join(job.skills)}",
            f"Description: {cut_to_tokens(job.description, MAX_DESCRIPTION_TOKENS, settings.CHAT_MODEL)}",
            "",
            f"Match score: {prediction.score:.2f}",
        ]
    )


class ExplanationKind(ChatKind):
    kind = BatchKind.EXPLANATION
    label = "explain matches"
    item_field = "prediction"
    model = Prediction
    state = WorkState.of("explanation", ExplanationStatus, done=ExplanationStatus.DONE)
    after_matching = True
    system_prompt = SYSTEM_PROMPT
    options = {"temperature": 0.2, "max_tokens": 300}

    def scope(self):
        return Prediction.objects.filter(rank__lte=settings.EXPLAIN_TOP_N)

    def pending(self):
        # CVs and jobs are prefetched, not joined: a CV's top predictions and a job's many then share one
        # instance each, so each parsed CV is read and decoded once per fetched chunk, not per prediction.
        return (
            self.scope()
            .filter(explanation_status=ExplanationStatus.PENDING)
            .only("pk", "score", "explanation_attempts", "explanation_version", "cv", "job")
            .prefetch_related(
                Prefetch("cv", queryset=CV.objects.only("pk", "parsed", "raw_text")),
                Prefetch(
                    "job", queryset=Job.objects.only("pk", "title", "company", "location", "skills", "description")
                ),
            )
            .order_by("pk")
        )

    def custom_id(self, row) -> str:
        return f"explain-{row.cv_id}-{row.job_id}"

    def user_message(self, row) -> str:
        return explanation_prompt(row)

    def read_result(self, body: dict) -> tuple[str | None, str | None]:
        return chat_answer(body)

    def store(self, values: dict[int, tuple[int, str]]) -> set[int]:
        return update_by_id(
            self.model._meta.db_table,
            {"explanation": "text"},
            [(pk, text, version) for pk, (version, text) in values.items()],
            extra_set="explanation_status = %s, explanation_error = '', updated_at = now()",
            set_params=[ExplanationStatus.DONE],
            where="t.explanation_status = %s",
            where_params=[ExplanationStatus.QUEUED],
            match={"explanation_version": "integer"},
        )
