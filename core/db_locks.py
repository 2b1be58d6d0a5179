"""PostgreSQL session advisory locks taken without waiting, for work only one session should do at once.

A session lock (not a transaction one) because the work it guards spans several transactions, or none
(an ingest commits chunk by chunk; CREATE INDEX CONCURRENTLY refuses to run inside one). The server
releases it if the session dies, so a killed worker never leaves it held.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def try_session_lock(namespace: int, key: int) -> Iterator[bool]:
    """Whether this session holds ``pg_advisory_lock(namespace, key)`` for the block (never waits)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
