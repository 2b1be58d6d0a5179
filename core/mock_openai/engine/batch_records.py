"""A new batch's stored record: OpenAI's batch object beside the engine's state of its run.

Besides the engine's knobs, a batch's metadata may set its own: `mock_scenario` (one of `SCENARIOS`),
`mock_latency` (seconds its walk takes) and `mock_script` (scripted_outcomes).
"""

import time
from dataclasses import dataclass

from .errors import bad_request
from .scripted_outcomes import Script
from .storage import new_batch_id

COMPLETION_WINDOW_SECONDS = 24 * 3600
EXPIRE_SCENARIO = "expire"
STUCK_IN_PROGRESS = "stuck_in_progress"  # never leaves in_progress; expires at expires_at
STUCK_FINALIZING = "stuck_finalizing"  # never leaves finalizing; expires at expires_at with every line
SCENARIOS = (EXPIRE_SCENARIO, STUCK_IN_PROGRESS, STUCK_FINALIZING)


@dataclass(frozen=True)
class RunSettings:
    """The engine's knobs, copied into each batch at create, so it runs as configured when it was created
    whichever process advances it later."""

    latency: float
    seed: int
    failure_rate: float
    expire: bool
    enqueued_token_limit: int | None
    enqueued_request_limit: int | None = None
    cassettes_dir: str | None = None  # recorded answers to replay (core.mock_openai.cassettes)
    cassettes_strict: bool = False  # refuse a request no cassette recorded


def _scenario_and_latency(metadata: dict | None, latency: float) -> tuple[str | None, float]:
    """The batch's own `mock_scenario` and `mock_latency`, if its metadata sets them; a 400 naming the key."""
    metadata = metadata or {}
    scenario = metadata.get("mock_scenario")
    if scenario is not None and scenario not in SCENARIOS:
        raise bad_request(
            f"metadata.mock_scenario is {scenario!r}; expected one of {', '.join(SCENARIOS)}.",
            "metadata.mock_scenario",
            "invalid_value",
        )
    text = metadata.get("mock_latency")
    if text is not None:
        try:
            latency = float(text)
        except ValueError:
            latency = -1.0
        if not 0 <= latency < float("inf"):
            raise bad_request(
                f"metadata.mock_latency is {text!r}; expected a number of seconds, 0 or more.",
                "metadata.mock_latency",
                "invalid_value",
            )
    return scenario, latency


def usage(input_tokens: int, output_tokens: int) -> dict:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def new_batch_record(
    *,
    input_file_id: str,
    endpoint: str,
    completion_window: str,
    metadata: dict | None,
    output_lifetime: int | None,
    settings: RunSettings,
    script: Script,
    now: float,
) -> dict:
    """`{"batch": <batch object, validating>, "run": <engine state>, "order": ns}`; parameters already checked
    but for the mock's own metadata keys, checked here."""
    scenario, latency = _scenario_and_latency(metadata, settings.latency)
    created_at = int(now)
    batch = {
        "id": new_batch_id(now),
        "object": "batch",
        "endpoint": endpoint,
        "model": None,
        "errors": None,
        "input_file_id": input_file_id,
        "completion_window": completion_window,
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": created_at,
        "in_progress_at": None,
        "expires_at": created_at + COMPLETION_WINDOW_SECONDS,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "usage": usage(0, 0),
        "metadata": metadata,
    }
    run = {
        "created": now,
        "latency": latency,
        "seed": settings.seed,
        "failure_rate": settings.failure_rate,
        "expire": settings.expire or scenario == EXPIRE_SCENARIO,
        "stuck": scenario if scenario in (STUCK_IN_PROGRESS, STUCK_FINALIZING) else None,
        "script": script,
        "enqueued_token_limit": settings.enqueued_token_limit,
        "enqueued_request_limit": settings.enqueued_request_limit,
        "cassettes_dir": settings.cassettes_dir,
        "cassettes_strict": settings.cassettes_strict,
        "output_lifetime": output_lifetime,
        "scan": None,
        "cancel_progress": None,
    }
    return {"batch": batch, "run": run, "order": time.time_ns()}
