"""Batch kind ``cv_parse``: a CV's text becomes a JSON Resume document through chat completions."""

from __future__ import annotations

import orjson
from django.conf import settings

from core.batches.bulk_sql import update_by_id
from core.batches.kinds import WorkState
from core.models import CV, BatchKind, EmbeddingStatus, ParseStatus
from core.services.openai_limits import cut_to_tokens
from core.stages.chat import ChatKind, chat_answer
from core.stages.resume_schema import RESPONSE_FORMAT, schema_violation

SYSTEM_PROMPT = (
    "You extract structured data from CVs. Read the CV the user sends and return a JSON Resume document "
    "with the candidate's basics (name, label, email, phone, summary, location), work history, education "
    "and skills. Use only what the CV says; use null for anything it does not state. Dates as YYYY-MM or "
    "YYYY where the CV gives them; endDate null for a current position. Group skills under short names "
    "with their keywords."
)


def cut_to_budget(text: str, max_tokens: int, model: str | None = None) -> str:
    """CVs pasted with whole publication lists must not blow the token budget; the start matters most.
    Tokens are counted as OpenAI counts them for ``model`` (both encodings, the larger count, if None)."""
    return cut_to_tokens(text, max_tokens, model)


def read_parse_answer(body: dict) -> tuple[dict | None, str | None]:
    """The resume in a chat completion body, or the reason it cannot be used."""
    content, reason = chat_answer(body)
    if reason is not None:
        return None, reason
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        return None, f"answer is not valid JSON: {exc}"
    violation = schema_violation(document)
    if violation is not None:
        return None, f"answer does not match the JSON Resume schema: {violation}"
    return document, None


class CvParseKind(ChatKind):
    kind = BatchKind.CV_PARSE
    label = "parse CVs"
    item_field = "cv"
    model = CV
    state = WorkState.of("parse", ParseStatus, done=ParseStatus.PARSED)
    system_prompt = SYSTEM_PROMPT
    options = {"temperature": 0, "response_format": RESPONSE_FORMAT}

    def pending(self):
        return (
            CV.objects.filter(parse_status=ParseStatus.PENDING)
            .only("pk", "raw_text", "parse_attempts", "parse_version")
            .order_by("pk")
        )

    def custom_id(self, row) -> str:
        return f"cv-parse-{row.pk}"

    def user_message(self, row) -> str:
        return cut_to_budget(row.raw_text, settings.PARSE_MAX_INPUT_TOKENS, self.model_name())

    def read_result(self, body: dict) -> tuple[dict | None, str | None]:
        return read_parse_answer(body)

    def store(self, values: dict[int, tuple[int, dict]]) -> set[int]:
        # A new profile is a new input for the embedding: the CV is embedded again from it, and an
        # embedding in flight, built from the old profile, is superseded by the version bump.
        return update_by_id(
            CV._meta.db_table,
            {"parsed": "jsonb"},
            [(pk, orjson.dumps(document).decode(), version) for pk, (version, document) in values.items()],
            extra_set="parse_status = %s, parse_error = '', updated_at = now(), embedding_status = %s, "
            "embedding_attempts = 0, embedding_version = t.embedding_version + 1",
            set_params=[ParseStatus.PARSED, EmbeddingStatus.PENDING],
            where="t.parse_status = %s",
            where_params=[ParseStatus.QUEUED],
            match={"parse_version": "integer"},
        )
