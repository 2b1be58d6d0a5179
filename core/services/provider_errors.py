"""One way to tell an operator why the Batch API (or its configuration) refused: the admin's messages
and the commands' errors say the same thing, on one line, and never carry the API key, even masked."""

import openai
from django.core.exceptions import ImproperlyConfigured

from recruit.log_redaction import redact


def provider_error_message(exc: Exception) -> str:
    name = type(exc).__name__
    if isinstance(exc, ImproperlyConfigured):
        text = str(exc)
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        text = f"{name}: the provider rejected the API key"
    elif isinstance(exc, openai.APIStatusError):
        # The SDK's message starts with the status again ("Error code: 404 - {...}").
        text = f"{name} (HTTP {exc.status_code}): {exc.message.removeprefix(f'Error code: {exc.status_code} - ')}"
    else:
        text = f"{name}: {exc}"
    return " ".join(redact(text).split())
