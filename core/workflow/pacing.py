"""How long a waiting driver (``run_pipeline --wait``, ``poll_batches --wait``) sleeps before polling again.

A fixed interval is wrong both ways. The mock finishes a batch a known latency after it was created,
so a poll before then learns nothing and a poll much later keeps the user waiting for nothing. OpenAI
takes minutes to a day: polling every few seconds at hour ten is noise, polling every ten minutes in
the first minute is slow. So each open batch says when a poll could first tell something new, and the
next round is due at the earliest of them:

- a batch in backoff after poll errors: its ``next_poll_at`` (``due_batches`` skips it before then);
- a mock batch: its submission plus the mock's latency (``MOCK_BATCH_LATENCY``);
- past that moment (always, for OpenAI, whose latency is unknown), a tenth of the time since: seconds
  at first, minutes once a batch has been open for an hour.

The driver's interval caps the sleep: the longest a finished batch waits to be noticed, and the wait
when nothing is in flight (work held back by a full queue, or rows another worker holds).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from core.selectors.batches import open_batches

OVERDUE_SHARE = 0.1
SHORTEST_WAIT = {"mock": 0.05, "openai": 2.0}  # seconds; no OpenAI batch finishes sooner than that


def seconds_until_next_poll(ceiling: float, now: datetime | None = None) -> float:
    """Seconds from ``now`` until the earliest open batch can have changed, at most ``ceiling``."""
    now = now or timezone.now()
    due = [
        _due(backend, submitted_at, next_poll_at, now)
        for backend, submitted_at, next_poll_at in open_batches().values_list("backend", "submitted_at", "next_poll_at")
    ]
    # Nothing in flight: what is left waits on time (a full queue's retry) or on another worker's rows.
    return min(min(due, default=ceiling), ceiling)


def _due(backend: str, submitted_at: datetime | None, next_poll_at: datetime | None, now: datetime) -> float:
    """Seconds from ``now`` until a poll of this batch could tell something new."""
    if next_poll_at is not None and next_poll_at > now:
        return (next_poll_at - now).total_seconds()
    shortest = SHORTEST_WAIT.get(backend, SHORTEST_WAIT["openai"])
    if submitted_at is None:
        return shortest
    overdue = (now - submitted_at).total_seconds() - (settings.MOCK_BATCH_LATENCY if backend == "mock" else 0.0)
    return -overdue if overdue < 0 else max(shortest, OVERDUE_SHARE * overdue)
