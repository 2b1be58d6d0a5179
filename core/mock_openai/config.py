"""The engine the MOCK_BATCH_* settings describe, shared by the client, the HTTP views and the commands.

An explicit argument wins, then the Django setting, then the seed's default, so the mock also runs
where Django is not configured at all.
"""

import os
import time
from collections.abc import Callable
from pathlib import Path

from .engine.facade import MockBatchEngine

_DEFAULTS = {
    "MOCK_BATCH_DIR": ".mock_batches",
    "MOCK_BATCH_FAILURE_RATE": 0.05,
    "MOCK_BATCH_SEED": 0,
    "MOCK_BATCH_LATENCY": 0.0,
    "MOCK_BATCH_EXPIRE": False,
    "MOCK_BATCH_ENQUEUED_TOKEN_LIMIT": None,
}


def _setting(name: str, value):
    if value is not None:
        return value
    from django.conf import settings

    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
        return getattr(settings, name, _DEFAULTS[name])
    return _DEFAULTS[name]


def engine_from_settings(
    root=None,
    failure_rate=None,
    seed=None,
    latency=None,
    *,
    expire=None,
    enqueued_token_limit=None,
    workers=None,
    clock: Callable[[], float] = time.time,
) -> MockBatchEngine:
    """The engine configured by the MOCK_BATCH_* settings, overridden by any explicit argument."""
    return MockBatchEngine(
        Path(_setting("MOCK_BATCH_DIR", root)),
        failure_rate=float(_setting("MOCK_BATCH_FAILURE_RATE", failure_rate)),
        seed=int(_setting("MOCK_BATCH_SEED", seed)),
        latency=float(_setting("MOCK_BATCH_LATENCY", latency)),
        expire=bool(_setting("MOCK_BATCH_EXPIRE", expire)),
        enqueued_token_limit=_setting("MOCK_BATCH_ENQUEUED_TOKEN_LIMIT", enqueued_token_limit),
        workers=workers,
        clock=clock,
    )
