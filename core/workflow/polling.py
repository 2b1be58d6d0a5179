"""Polling rounds, and waiting on them until every open batch has closed (``poll_batches --wait``).

A round says, besides what it ingested, which open batches the provider could not answer for: one
unreachable batch must not stop the others from being polled (the engine logs it and goes on), yet
whoever waits has to be told.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.batches.ingest import IngestReport
from core.batches.poll import poll_open_batches
from core.models import BatchJob
from core.operations import cv_index
from core.selectors.batches import open_batches
from core.services.batch_service import BatchService
from core.workflow.pacing import seconds_until_next_poll


@dataclass
class PollRound:
    was_open: set[int]  # BatchJob pks open when the round began
    answered: set[int]  # those the provider answered for
    ingested: list[tuple[BatchJob, IngestReport]]
    still_open: set[int]
    unreachable: dict[int, str]  # pk -> provider batch id, of open batches the provider did not answer for


class StillOpen(Exception):
    """The wait ran out of time with batches still open."""


def _open_pks() -> set[int]:
    return set(open_batches().values_list("pk", flat=True))


def poll_round(service: BatchService) -> PollRound:
    """One round, with the CV index handled around a bulk load as every other driver does
    (core.operations.cv_index): a deployment polling only with ``poll_batches`` gets it back too."""
    was_open = _open_pks()
    cv_index.drop_for_bulk_load()
    results = poll_open_batches(service)
    cv_index.build_after_load()
    answered = {batch.pk for batch, _ in results}
    return PollRound(
        was_open=was_open,
        answered=answered,
        ingested=[(batch, report) for batch, report in results if report is not None and not report.skipped],
        still_open=_open_pks(),
        unreachable=dict(open_batches().filter(pk__in=was_open - answered).values_list("pk", "provider_batch_id")),
    )


def poll_until_closed(
    service: BatchService,
    interval: float,
    timeout: float | None = None,
    on_round: Callable[[PollRound], None] = lambda poll: None,
) -> None:
    """Poll until no batch is open, each round as soon as a batch can have finished and at most
    ``interval`` seconds after the last; ``StillOpen`` if ``timeout`` passes first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        poll = poll_round(service)
        on_round(poll)
        if not poll.still_open:
            return
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise StillOpen(f"gave up after {timeout:g}s: {len(poll.still_open)} batch(es) still open")
        pause = seconds_until_next_poll(interval)
        time.sleep(pause if left is None else min(pause, left))
