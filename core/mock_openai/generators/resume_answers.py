"""CV-parsing requests (a custom_id with "parse", or a resume JSON schema) answered with the JSON Resume
document the heuristics extract from the CV in the prompt."""

from collections.abc import Mapping

from .base import Request
from .chat_completions import ChatGenerator, response_schema
from .heuristics.resume_extraction import extract_resume


def _is_resume_schema(response_format: Mapping) -> bool:
    """Whether a `json_schema` response format asks for a resume (by its name or its properties)."""
    json_schema = response_format.get("json_schema")
    if not isinstance(json_schema, Mapping):
        return False
    name = str(json_schema.get("name", "")).lower()
    schema = json_schema.get("schema")
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    keys = set(properties) if isinstance(properties, Mapping) else set()
    return any(word in name for word in ("resume", "cv", "curriculum")) or {"basics", "work"} <= keys


class ResumeAnswers(ChatGenerator):
    def claims(self, request: Request) -> bool:
        body = request.body
        return "parse" in request.custom_id.lower() or (
            response_schema(body) is not None and _is_resume_schema(body["response_format"])
        )

    def reply(self, prompt: str, *, wants_json: bool) -> dict:
        return extract_resume(prompt)
