"""Logging helpers: nothing that reaches a log handler may carry the OpenAI API key."""

import logging

from django.conf import settings

REDACTED = "[redacted]"


def redact(text: str) -> str:
    key = getattr(settings, "OPENAI_API_KEY", None)
    if key and key in text:
        return text.replace(key, REDACTED)
    return text


class RedactSecretsFilter(logging.Filter):
    """Renders the record once and removes the key from the message and any traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            if redact(formatted) != formatted:
                record.exc_text = redact(formatted)
                record.exc_info = None
        return True
