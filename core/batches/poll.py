"""Polling batches at the provider and ingesting those that reached a terminal status.

Three rules make polling safe to run twice, side by side, and against a provider that misbehaves:

- a batch's status only moves forward, decided under its row lock: an answer fetched before another
  poller recorded a later status (or ingested the batch) changes nothing;
- one batch that cannot be polled or ingested (the provider refuses, an answer the database rejects)
  is marked with its error and tried again later with backoff, and never stops the others;
- each batch is asked of the backend it was submitted to, and one the provider answers 404 for,
  poll after poll, is lost: its rows go back to pending.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import openai
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.batches.events import log_batch_event
from core.batches.ingest import IngestReport, ingest_batch, settle_lost_batch
from core.models import BatchJob, BatchStatus
from core.services.batch_service import BatchService
from core.services.provider_errors import provider_error_message

logger = logging.getLogger(__name__)

PROVIDER_TIMESTAMPS = (
    "created_at",
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "expires_at",
)
TERMINAL_TIMESTAMPS = ("completed_at", "failed_at", "expired_at", "cancelled_at")
# How far along the lifecycle each status is: a recorded status is never replaced by an earlier one.
PROGRESS = {
    BatchStatus.VALIDATING: 0,
    BatchStatus.IN_PROGRESS: 1,
    BatchStatus.FINALIZING: 2,
    BatchStatus.CANCELLING: 2,
    BatchStatus.COMPLETED: 3,
    BatchStatus.FAILED: 3,
    BatchStatus.EXPIRED: 3,
    BatchStatus.CANCELLED: 3,
}
MAX_RETRY_DELAY = timedelta(hours=1)


def _errors_of(remote) -> list[dict]:
    errors = getattr(remote, "errors", None)
    data = getattr(errors, "data", None) or []
    return [entry.model_dump() if hasattr(entry, "model_dump") else dict(entry) for entry in data]


def _record(batch: BatchJob, remote) -> bool:
    """Copy what the provider says into ``batch`` if it is news; True when the status changed."""
    batch.last_polled_at = timezone.now()
    if batch.ingested_at is not None or PROGRESS[remote.status] < PROGRESS[batch.status]:
        return False  # an older answer than what is recorded: another poller got further
    if batch.is_terminal and remote.status != batch.status:
        return False  # a terminal status is final
    changed = batch.status != remote.status
    batch.status = remote.status
    counts = remote.request_counts
    if counts is not None and counts.total:
        # While validating the provider reports 0 of 0; keep the count we submitted until it knows better.
        batch.total, batch.completed, batch.failed = counts.total, counts.completed, counts.failed
    batch.output_file_id = remote.output_file_id or ""
    batch.error_file_id = remote.error_file_id or ""
    batch.errors = _errors_of(remote)
    batch.provider_timestamps = {
        name: getattr(remote, name) for name in PROVIDER_TIMESTAMPS if getattr(remote, name, None) is not None
    }
    finished = [batch.provider_timestamps[name] for name in TERMINAL_TIMESTAMPS if name in batch.provider_timestamps]
    if finished and batch.completed_at is None:
        batch.completed_at = datetime.fromtimestamp(max(finished), tz=UTC)
    # Token usage is summed from the result lines as they are ingested (exactly once, like the results),
    # not copied from the batch's own usage, so the two can never be counted together.
    return changed


def refresh_batch(batch: BatchJob, service: BatchService) -> BatchJob:
    """Ask the provider for the batch's state and store it, if it moves the batch forward."""
    remote = service.retrieve_batch(batch.provider_batch_id)
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().get(pk=batch.pk)
        previous = locked.status
        changed = _record(locked, remote)
        locked.save()
    if changed:
        log_batch_event(
            "status_changed",
            locked,
            previous=previous,
            status=locked.status,
            completed=locked.completed,
            failed=locked.failed,
            total=locked.total,
        )
    return locked


def poll_batch(batch: BatchJob, service: BatchService) -> IngestReport | None:
    """Refresh one batch; ingest it if it is finished and not yet ingested."""
    if batch.ingested_at is not None:
        return None
    report = None
    if not batch.is_terminal:
        batch = refresh_batch(batch, service)
    if batch.is_terminal:
        report = ingest_batch(batch, service)
    if batch.poll_failures:  # it answered this time: the backoff is over
        BatchJob.objects.filter(pk=batch.pk).update(poll_error="", poll_failures=0, next_poll_at=None)
    return report


def due_batches():
    """Batches not yet ingested and not waiting out a backoff, oldest first."""
    now = timezone.now()
    return BatchJob.objects.filter(ingested_at__isnull=True).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
    ).order_by("created_at")


def poll_open_batches(service: BatchService | None = None) -> list[tuple[BatchJob, IngestReport | None]]:
    """Every due batch, each on its own backend; a batch that fails is recorded and the rest go on."""
    service = service or BatchService()
    results = []
    for batch in due_batches():
        try:
            results.append((batch, poll_batch(batch, service.for_backend(batch.backend))))
        except openai.NotFoundError as exc:
            record_poll_failure(batch, exc, not_found=True)
        # Whatever one batch raises (a refusal, an unreachable host, an answer the database rejects, a
        # backend that is not configured), it must not stop the others: recorded on the batch with its
        # traceback in the log, and tried again after a backoff.
        except Exception as exc:  # noqa: BLE001
            record_poll_failure(batch, exc)
    return results


def record_poll_failure(batch: BatchJob, exc: Exception, not_found: bool = False) -> None:
    """Mark the batch with the error and when to try again; lose it after repeated 404s."""
    error = provider_error_message(exc)
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().get(pk=batch.pk)
        if locked.ingested_at is not None:
            return  # another poller finished it meanwhile
        first_of_its_kind = locked.poll_error != error
        locked.poll_failures += 1
        locked.poll_error = error
        delay = timedelta(seconds=settings.POLL_RETRY_SECONDS * 2 ** (locked.poll_failures - 1))
        locked.next_poll_at = timezone.now() + min(delay, MAX_RETRY_DELAY)
        lost = not_found and locked.poll_failures >= settings.BATCH_LOST_AFTER_NOT_FOUND
        locked.save(update_fields=["poll_error", "poll_failures", "next_poll_at"])
    if first_of_its_kind:
        # Logged once per distinct error, with the traceback; repeats only raise the count on the batch.
        log_batch_event("poll_failed", locked, logging.ERROR, exc_info=exc, error=error, failures=locked.poll_failures)
    if lost:
        settle_lost_batch(locked)
