"""What the mock answers each request of a batch: the one dispatch execution runs.

A request that is invalid by itself gets its error (request_checks); a valid one may draw an injected
transient failure (injected_failures); the rest are answered by the registered generators, all of a
chunk's requests in one call per generator.
"""

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from core.mock_openai.generators.base import Request
from core.mock_openai.generators.registry import generate

from .injected_failures import injected_failure
from .request_checks import request_error


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
    bodies = generate(endpoint, [requests[index] for index in valid])
    for index, body in zip(valid, bodies, strict=True):
        answers[index] = Answer(200, body)
    return answers


def usage_tokens(endpoint: str, response_body: Mapping) -> tuple[int, int]:
    """(input, output) tokens of a successful response, for the batch's `usage`."""
    usage = response_body.get("usage") or {}
    if endpoint == "/v1/embeddings":
        return usage.get("prompt_tokens", 0), 0
    return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
