"""What the mock answers each request of a batch: the one dispatch execution runs.

A request that is invalid by itself gets its error (request_checks); a valid one named by the batch's
script gets its scripted outcome for this attempt (scripted_outcomes), and one not named may draw an
injected transient failure (injected_failures). When the batch replays cassettes, a recorded request gets
its recorded answer, byte for byte, and in strict replay an unrecorded one a 400. The rest are answered
by the registered generators, all of a chunk's requests in one call per generator.

No request can take its batch down: should a generator raise on a request the checks let through (a bug
of the mock, which the fuzz test hunts), the chunk is answered again one request at a time and only the
request that raises gets OpenAI's 500 `server_error` line, logged with its traceback.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import orjson

from core.mock_openai.cassettes import Recorded, request_key
from core.mock_openai.generators.base import Request
from core.mock_openai.generators.registry import generate

from .errors import MockAPIError, bad_request
from .injected_failures import injected_failure
from .request_checks import request_error
from .scripted_outcomes import OK, Script, line_error, scripted_error, scripted_outcome

logger = logging.getLogger(__name__)
GENERATOR_FAILURE = MockAPIError(
    500, "The server had an error while processing your request. Sorry about that!", error_type="server_error"
)


class Answer(NamedTuple):
    status: int
    body: dict
    injected: bool = False  # an injected transient failure, which the failure ledger records
    scripted: bool = False  # an attempt the script decided, which the attempt ledger records
    line_error: dict | None = None  # a request that never ran: its line has this `error` and no response
    raw_body: bytes | None = None  # a replayed answer: the body's bytes as recorded (`body` is them parsed)


_SCRIPTED_OK = Answer(200, {}, scripted=True)  # a placeholder until the generators answer


def not_recorded(key: str) -> MockAPIError:
    return bad_request(
        f"No cassette recorded this request (key {key}) and the mock replays strictly "
        "(MOCK_OPENAI_CASSETTES_STRICT): record it against OpenAI, or turn strict replay off.",
        None,
        "request_not_recorded",
    )


def answer_requests(
    endpoint: str,
    requests: Sequence[Request],
    *,
    failure_rate: float,
    prior_failures: Mapping[str, int],
    script: Script = (),
    prior_attempts: Mapping[str, int] | None = None,
    recorded: Mapping[str, Recorded] | None = None,
    strict_replay: bool = False,
) -> list[Answer]:
    """The status and body of each request, in order, as the batch records them.

    `prior_failures` counts, per custom_id, the injected failures already served (failure_ledger);
    `prior_attempts` the attempts the script already decided (the attempt ledger); `recorded` the
    cassettes' answers by request key.
    """
    answers: list[Answer | None] = []
    valid: list[int] = []
    for request in requests:
        failure = request_error(endpoint, request.body)
        injected = scripted = False
        outcome = None
        if failure is None and script:
            outcome = scripted_outcome(script, request.custom_id, (prior_attempts or {}).get(request.custom_id, 0))
            scripted = outcome is not None
            if scripted and outcome != OK:
                failure = scripted_error(outcome)
        if failure is None and outcome is None and recorded is not None:
            key = request_key(endpoint, request.body)
            replay = recorded.get(key)
            if replay is not None:
                answers.append(Answer(replay.status, orjson.loads(replay.body), raw_body=replay.body))
                continue
            if strict_replay:
                failure = not_recorded(key)
        if failure is None and outcome is None:
            earlier = prior_failures.get(request.custom_id, 0)
            failure = injected_failure(request.seed, failure_rate, request.custom_id, earlier)
            injected = failure is not None
        if failure is None:
            valid.append(len(answers))
            answers.append(_SCRIPTED_OK if scripted else None)  # answered by the generators below
        else:
            answers.append(Answer(failure.status, failure.body(), injected, scripted, line_error(failure.code or "")))
    for index, answer in zip(valid, _generated(endpoint, [requests[index] for index in valid]), strict=True):
        answers[index] = answer._replace(scripted=True) if answers[index] is _SCRIPTED_OK else answer
    return answers


def _generated(endpoint: str, requests: Sequence[Request]) -> list[Answer]:
    """The generators' answers; if they raise, each request alone, and a 500 for one that still raises."""
    try:
        return [Answer(200, body) for body in generate(endpoint, requests)]
    except Exception:
        if len(requests) > 1:
            return [answer for request in requests for answer in _generated(endpoint, [request])]
        logger.exception("mock generator failed on %s request %r", endpoint, requests[0].custom_id)
        return [Answer(GENERATOR_FAILURE.status, GENERATOR_FAILURE.body())]


def usage_tokens(endpoint: str, response_body: Mapping) -> tuple[int, int]:
    """(input, output) tokens of a successful response, for the batch's `usage`."""
    usage = response_body.get("usage") or {}
    if endpoint == "/v1/embeddings":
        return usage.get("prompt_tokens", 0), 0
    return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
