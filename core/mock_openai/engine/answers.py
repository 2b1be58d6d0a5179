"""What the mock answers each request of a batch: the one dispatch execution runs.

A request that is invalid by itself gets its error (request_checks); a valid one may draw an injected
transient failure (injected_failures); the rest are answered by the registered generators, all of a
chunk's requests in one call per generator.

No request can take its batch down: should a generator raise on a request the checks let through (a bug
of the mock, which the fuzz test hunts), the chunk is answered again one request at a time and only the
request that raises gets OpenAI's 500 `server_error` line, logged with its traceback.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from core.mock_openai.generators.base import Request
from core.mock_openai.generators.registry import generate

from .errors import MockAPIError
from .injected_failures import injected_failure
from .request_checks import request_error

logger = logging.getLogger(__name__)
GENERATOR_FAILURE = MockAPIError(
    500, "The server had an error while processing your request. Sorry about that!", error_type="server_error"
)


class Answer(NamedTuple):
    status: int
    body: dict
    injected: bool = False  # an injected transient failure, which the failure ledger records


def answer_requests(
    endpoint: str, requests: Sequence[Request], *, failure_rate: float, prior_failures: Mapping[str, int]
) -> list[Answer]:
    """The status and body of each request, in order, as the batch records them.

    `prior_failures` counts, per custom_id, the injected failures already served (failure_ledger).
    """
    answers: list[Answer | None] = []
    valid: list[int] = []
    for request in requests:
        failure = request_error(endpoint, request.body)
        injected = False
        if failure is None:
            earlier = prior_failures.get(request.custom_id, 0)
            failure = injected_failure(request.seed, failure_rate, request.custom_id, earlier)
            injected = failure is not None
        if failure is None:
            valid.append(len(answers))
            answers.append(None)
        else:
            answers.append(Answer(failure.status, failure.body(), injected))
    for index, answer in zip(valid, _generated(endpoint, [requests[index] for index in valid]), strict=True):
        answers[index] = answer
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
