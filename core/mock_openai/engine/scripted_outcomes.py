"""Scripted outcomes: a test names which request fails, how, and on which attempt.

A script maps custom_id patterns (exact ids or `fnmatch` globs such as `cv-*`) to an outcome for every
attempt, or to a list of outcomes, one per attempt (attempts past the list's end take its last one).
The first pattern that matches a custom_id decides. An outcome is `ok` (answered as usual, never given an
injected failure) or one of the error codes in `SCRIPTED_ERRORS`: the errors OpenAI writes into batch
error files.

A batch takes its script at create: rules from its metadata (`mock_script`, a JSON object as a string)
come before the rules set on the mock root (HTTP control endpoint or `client.mock.script`). Attempts are
counted per custom_id across the root (the attempt ledger), so a retried request moves on to its next
outcome exactly as a resubmitted request does at OpenAI.
"""

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import NamedTuple

import orjson

from .errors import MockAPIError, bad_request

OK = "ok"
ATTEMPT_LEDGER = "scripted_attempts.log"
METADATA_KEY = "mock_script"


class ScriptedError(NamedTuple):
    """A scripted failure: a `response` with this status and error body, or (status None) a line whose
    `error` is set and `response` null, as OpenAI writes requests that never ran."""

    status: int | None
    error_type: str
    message: str
    param: str | None = None


SCRIPTED_ERRORS: dict[str, ScriptedError] = {
    "invalid_value": ScriptedError(400, "invalid_request_error", "Invalid value for 'input'.", "input"),
    "invalid_type": ScriptedError(400, "invalid_request_error", "Invalid type for 'input'.", "input"),
    "missing_required_parameter": ScriptedError(
        400, "invalid_request_error", "Missing required parameter: 'model'.", "model"
    ),
    "unknown_parameter": ScriptedError(400, "invalid_request_error", "Unrecognized request argument supplied.", None),
    "unsupported_value": ScriptedError(
        400, "invalid_request_error", "Unsupported value: this model does not support it.", None
    ),
    "context_length_exceeded": ScriptedError(
        400,
        "invalid_request_error",
        "This model's maximum context length is 8192 tokens, however you requested 9000 tokens. "
        "Please reduce your prompt.",
        "messages",
    ),
    "string_above_max_length": ScriptedError(
        400, "invalid_request_error", "Invalid 'messages[0].content': string too long.", "messages[0].content"
    ),
    "invalid_prompt": ScriptedError(
        400,
        "invalid_request_error",
        "Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
        None,
    ),
    "content_filter": ScriptedError(
        400,
        "invalid_request_error",
        "The response was filtered due to the prompt triggering the content management policy.",
        "prompt",
    ),
    "model_not_found": ScriptedError(
        404, "invalid_request_error", "The model does not exist or you do not have access to it.", None
    ),
    "rate_limit_exceeded": ScriptedError(
        429, "requests", "Rate limit reached for requests. Please try again in 20ms.", None
    ),
    "insufficient_quota": ScriptedError(
        429,
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
        None,
    ),
    "server_error": ScriptedError(
        500, "server_error", "The server had an error while processing your request. Sorry about that!", None
    ),
    "bad_gateway": ScriptedError(502, "server_error", "Bad gateway.", None),
    "engine_overloaded": ScriptedError(
        503, "server_error", "The engine is currently overloaded, please try again later.", None
    ),
    "timeout": ScriptedError(504, "server_error", "Request timed out.", None),
    "batch_expired": ScriptedError(
        None, "", "This request could not be executed before the completion window expired.", None
    ),
    "batch_cancelled": ScriptedError(None, "", "This request was not executed because the batch was cancelled.", None),
}
OUTCOMES = (OK, *SCRIPTED_ERRORS)

Script = tuple[tuple[str, tuple[str, ...]], ...]  # ((pattern, outcomes per attempt), ...); JSON-ready as lists


def parse_script(rules: object, where: str) -> Script:
    """The script `rules` describe ({pattern: outcome | [outcome, ...]}); a 400 naming `where`, the pattern
    and the outcome when it is not one."""
    if not isinstance(rules, Mapping):
        raise bad_request(f"{where} must be a JSON object mapping custom_id patterns to outcomes.", where)
    script = []
    for pattern, outcome in rules.items():
        outcomes = outcome if isinstance(outcome, list) else [outcome]
        if not pattern or not outcomes:
            raise bad_request(f"{where}: pattern {pattern!r} needs a non-empty pattern and outcome.", where)
        for item in outcomes:
            if item not in OUTCOMES:
                raise bad_request(
                    f"{where}: pattern {pattern!r} has outcome {item!r}; expected one of {', '.join(OUTCOMES)}.",
                    where,
                    "invalid_value",
                )
        script.append((str(pattern), tuple(outcomes)))
    return tuple(script)


def script_from_metadata(metadata: Mapping | None) -> Script:
    """The rules a batch's metadata carries under `mock_script` (a JSON object as a string)."""
    text = (metadata or {}).get(METADATA_KEY)
    if text is None:
        return ()
    where = f"metadata.{METADATA_KEY}"
    try:
        rules = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"{where} is not valid JSON: {error}.", where, "invalid_value") from None
    return parse_script(rules, where)


def stored_script(value: Sequence) -> Script:
    """A script as stored in a batch record (JSON lists) back as tuples."""
    return tuple((pattern, tuple(outcomes)) for pattern, outcomes in value)


def scripted_outcome(script: Script, custom_id: str, earlier_attempts: int) -> str | None:
    """The outcome of this attempt of `custom_id`, or None when no rule names it."""
    for pattern, outcomes in script:
        if fnmatchcase(custom_id, pattern):
            return outcomes[min(earlier_attempts, len(outcomes) - 1)]
    return None


def scripted_error(code: str) -> MockAPIError:
    error = SCRIPTED_ERRORS[code]
    return MockAPIError(error.status or 0, error.message, error_type=error.error_type, param=error.param, code=code)


def line_error(code: str) -> dict | None:
    """The `error` of an output line for an outcome OpenAI reports without a response (None otherwise)."""
    error = SCRIPTED_ERRORS.get(code)
    if error is None or error.status is not None:
        return None
    return {"code": code, "message": error.message}
