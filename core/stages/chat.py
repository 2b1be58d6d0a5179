"""What the kinds that call /v1/chat/completions share: the request's shape and reading the answer.

Whatever a kind does with the text, the request is a system prompt and one user message to the chat
model, and an answer that is missing, refused or cut off by the token limit is unusable for the same
reasons.
"""

from __future__ import annotations

from abc import abstractmethod

from django.conf import settings

from core.batches.kinds import BatchKindSpec


def chat_answer(body: dict) -> tuple[str | None, str | None]:
    """(text, None), or (None, why the response holds no usable answer)."""
    choices = body.get("choices") or []
    if not choices:
        return None, "response has no choices"
    choice = choices[0]
    message = choice.get("message") or {}
    if message.get("refusal"):
        return None, f"model refused: {message['refusal']}"
    if choice.get("finish_reason") == "length":
        return None, "answer truncated (finish_reason=length)"
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        return None, "answer is empty"
    if "\x00" in content or "\\u0000" in content:
        # PostgreSQL stores no NUL in text or jsonb: writing it would fail the whole chunk's transaction.
        return None, "answer contains a NUL character (\\u0000), which cannot be stored"
    return content.strip(), None


class ChatKind(BatchKindSpec):
    endpoint = "/v1/chat/completions"
    system_prompt: str
    # Request parameters besides the model and the messages (temperature, response_format, max_tokens).
    options: dict = {}

    def model_name(self) -> str:
        return settings.CHAT_MODEL

    @abstractmethod
    def user_message(self, row) -> str:
        """What the model is asked about this row."""

    def build_body(self, row) -> dict:
        return {
            "model": self.model_name(),
            **self.options,
            "messages": [
                {"role": "system", "content": self.system_prompt},
                {"role": "user", "content": self.user_message(row)},
            ],
        }
