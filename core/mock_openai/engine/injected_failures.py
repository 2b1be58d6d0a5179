"""The transient server errors the mock injects: a deterministic `failure_rate` share of requests.

A request's fate is a pure function of (seed, custom_id, earlier injected failures), the same in every
process, so a run can be repeated exactly; `earlier` comes from the failure ledger, so that a retried
request draws anew, as OpenAI's transient errors are independent from one attempt to the next.
"""

import hashlib

from .errors import MockAPIError

_TRANSIENT_ERRORS = (
    (500, "The server had an error while processing your request. Sorry about that!", "server_error"),
    (503, "The engine is currently overloaded, please try again later.", "engine_overloaded"),
)


def _unit_interval(purpose: str, seed: int, custom_id: str) -> float:
    """A number in [0, 1) fixed by (purpose, seed, custom_id): keyed BLAKE2b, the same in every process."""
    digest = hashlib.blake2b(custom_id.encode(), digest_size=8, key=f"{purpose}:{seed}".encode()).digest()
    return int.from_bytes(digest, "big") / 2**64


def injected_failure(seed: int, failure_rate: float, custom_id: str, earlier: int = 0) -> MockAPIError | None:
    """A transient 500 or 503 for a `failure_rate` share of custom_ids (per seed); `earlier` counts the
    injected failures this custom_id already got."""
    key = custom_id if earlier == 0 else f"{custom_id}#retry{earlier}"
    if failure_rate <= 0 or _unit_interval("fail", seed, key) >= failure_rate:
        return None
    status, message, code = _TRANSIENT_ERRORS[int(_unit_interval("kind", seed, key) * len(_TRANSIENT_ERRORS))]
    return MockAPIError(status, message, error_type="server_error", code=code)
