"""Reading the assistant's answer out of a chat completion response body.

Shared by the kinds that call /v1/chat/completions: whatever they do with the text, an answer that is
missing, refused or cut off by the token limit is unusable for the same reasons.
"""


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
    return content.strip(), None
