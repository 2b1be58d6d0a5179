"""A new batch's stored record: OpenAI's batch object beside the engine's state of its run."""

import time
from dataclasses import dataclass

from .storage import new_batch_id

COMPLETION_WINDOW_SECONDS = 24 * 3600
EXPIRE_SCENARIO = "expire"


@dataclass(frozen=True)
class RunSettings:
    """The engine's knobs, copied into each batch at create, so it runs as configured when it was created
    whichever process advances it later."""

    latency: float
    seed: int
    failure_rate: float
    expire: bool
    enqueued_token_limit: int | None


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
    now: float,
) -> dict:
    """`{"batch": <batch object, validating>, "run": <engine state>, "order": ns}`; parameters already checked."""
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
        "latency": settings.latency,
        "seed": settings.seed,
        "failure_rate": settings.failure_rate,
        "expire": settings.expire or (metadata or {}).get("mock_scenario") == EXPIRE_SCENARIO,
        "enqueued_token_limit": settings.enqueued_token_limit,
        "output_lifetime": output_lifetime,
        "scan": None,
        "cancel_progress": None,
    }
    return {"batch": batch, "run": run, "order": time.time_ns()}
