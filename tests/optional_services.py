"""What a few tests need beyond Python: Debian's Chromium and a Redis server.

A newcomer's machine may lack them, so those tests skip there, saying what is missing. CI sets
RECRUIT_TESTS_REQUIRE_ALL=1, which turns each such skip into a failure: there, a missing browser or
broker is a broken set-up, not a reason to test less.
"""

import os
import shutil
from pathlib import Path

import pytest

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def unavailable(reason: str) -> None:
    if os.environ.get("RECRUIT_TESTS_REQUIRE_ALL", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}, and RECRUIT_TESTS_REQUIRE_ALL is set", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    """Debian's Chromium, or the test is skipped (failed under RECRUIT_TESTS_REQUIRE_ALL)."""
    debian = Path("/usr/bin/chromium")
    found = str(debian) if debian.exists() else shutil.which("chromium")
    if not found:
        unavailable("Chromium is not installed (apt-get install chromium)")
    return found


def redis_broker_url() -> str:
    """CELERY_TEST_BROKER_URL, else the machine's own Redis; skipped (or failed) if nothing answers there."""
    import redis

    url = os.environ.get("CELERY_TEST_BROKER_URL") or DEFAULT_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
        unavailable(f"no Redis answers at {url} (set CELERY_TEST_BROKER_URL, or start redis-server): {error}")
    return url
