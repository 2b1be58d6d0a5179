"""`/v1/chat/completions` answers in OpenAI's shape around the reply a model supplies.

The model sees the prompt (the user messages, else all of them) and whether a JSON answer was asked
for; a reply that is a document is fitted to the request's `json_schema`, as structured outputs
guarantee, and serialised. Ids, usage and `created` are deterministic: the same request, seed and
batch clock give the same bytes.
"""

import hashlib
import json
from abc import abstractmethod
from collections.abc import Mapping, Sequence

import orjson

from core.services.openai_limits import count_tokens, estimate_request_tokens, message_text

from .base import Generator, Request
from .schema_conformance import conform_to_request_schema

SYSTEM_FINGERPRINT = "fp_mock"


def response_schema(body: Mapping) -> dict | None:
    """The JSON schema of a `response_format: {"type": "json_schema", ...}` request, if it sent one."""
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema")
        if isinstance(json_schema, Mapping) and isinstance(json_schema.get("schema"), Mapping):
            return dict(json_schema["schema"])
    return None


def _dumps(document) -> str:
    """The document as JSON text; integers past 64 bits (a schema's `enum` or `const` may carry one) are
    beyond orjson, so such a document goes through the standard library instead."""
    try:
        return orjson.dumps(document).decode()
    except TypeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _wants_json(body: Mapping) -> bool:
    response_format = body.get("response_format")
    return isinstance(response_format, Mapping) and response_format.get("type") in ("json_schema", "json_object")


def _prompt(body: Mapping, roles: tuple[str, ...]) -> str:
    return "\n\n".join(message_text(m) for m in body["messages"] if m.get("role") in roles)


class ChatGenerator(Generator):
    """Chat completion answers; a subclass supplies `reply`."""

    endpoint = "/v1/chat/completions"

    @abstractmethod
    def reply(self, prompt: str, *, wants_json: bool) -> str | dict:
        """The assistant's message: text, or a document (sent as JSON, fitted to the request's schema)."""

    def answer(self, requests: Sequence[Request]) -> list[dict]:
        return [self._completion(request) for request in requests]

    def _content(self, body: Mapping) -> str:
        schema = response_schema(body)
        prompt = _prompt(body, ("user",)) or _prompt(body, ("user", "system", "developer"))
        reply = self.reply(prompt, wants_json=_wants_json(body))
        if isinstance(reply, str):
            return reply
        return _dumps(conform_to_request_schema(reply, schema) if schema else reply)

    def _completion(self, request: Request) -> dict:
        body = request.body
        content = self._content(body)
        prompt_tokens = estimate_request_tokens("/v1/chat/completions", body)
        completion_tokens = count_tokens(content, body.get("model"))
        digest = hashlib.blake2b(f"{request.seed}:{request.custom_id}".encode(), digest_size=15).hexdigest()
        return {
            "id": f"chatcmpl-mock{digest}",
            "object": "chat.completion",
            "created": request.created,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
