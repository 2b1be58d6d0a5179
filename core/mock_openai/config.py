"""The engine the MOCK_BATCH_* settings describe, shared by the client, the HTTP views and the commands.

An explicit argument wins, then the Django setting, then the seed's default, so the mock also runs
where Django is not configured at all. The HTTP API's engine (`http_engine_from_settings`) runs on a root
of its own, MOCK_OPENAI_HTTP_DIR, never the pipeline's MOCK_BATCH_DIR, and caps what it stores.
"""

import os
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
    "MOCK_BATCH_ENQUEUED_REQUEST_LIMIT": None,
    "MOCK_OPENAI_CASSETTES_DIR": None,
    "MOCK_OPENAI_CASSETTES_STRICT": False,
    "MOCK_OPENAI_HTTP_DIR": ".data/mock_openai_http",
    "MOCK_OPENAI_MAX_STORED_BYTES": 2 * 1024**3,
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
    enqueued_request_limit=None,
    cassettes_dir=None,
    cassettes_strict=None,
    workers=None,
    max_stored_bytes=None,
    clock: Callable[[], float] | None = None,
) -> MockBatchEngine:
    """The engine configured by the MOCK_BATCH_* settings, overridden by any explicit argument."""
    return MockBatchEngine(
        Path(_setting("MOCK_BATCH_DIR", root)),
        failure_rate=float(_setting("MOCK_BATCH_FAILURE_RATE", failure_rate)),
        seed=int(_setting("MOCK_BATCH_SEED", seed)),
        latency=float(_setting("MOCK_BATCH_LATENCY", latency)),
        expire=bool(_setting("MOCK_BATCH_EXPIRE", expire)),
        enqueued_token_limit=_setting("MOCK_BATCH_ENQUEUED_TOKEN_LIMIT", enqueued_token_limit),
        enqueued_request_limit=_setting("MOCK_BATCH_ENQUEUED_REQUEST_LIMIT", enqueued_request_limit),
        cassettes_dir=_setting("MOCK_OPENAI_CASSETTES_DIR", cassettes_dir),
        cassettes_strict=bool(_setting("MOCK_OPENAI_CASSETTES_STRICT", cassettes_strict)),
        workers=workers,
        max_stored_bytes=max_stored_bytes,
        clock=clock,
    )


def http_engine_from_settings() -> MockBatchEngine:
    """The engine the HTTP API serves: MOCK_BATCH_* knobs, but its own root (MOCK_OPENAI_HTTP_DIR) and the
    MOCK_OPENAI_MAX_STORED_BYTES cap. ValueError if that root is the pipeline's own."""
    root = Path(_setting("MOCK_OPENAI_HTTP_DIR", None)).expanduser()
    if root.resolve() == Path(_setting("MOCK_BATCH_DIR", None)).expanduser().resolve():
        raise ValueError("MOCK_OPENAI_HTTP_DIR must not be MOCK_BATCH_DIR, the pipeline's own mock root.")
    return engine_from_settings(root, max_stored_bytes=int(_setting("MOCK_OPENAI_MAX_STORED_BYTES", None)))
