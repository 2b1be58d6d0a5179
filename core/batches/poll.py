"""Polling batches at the provider and ingesting those that reached a terminal status."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import openai
from django.db import transaction
from django.utils import timezone

from core.batches.events import log_batch_event
from core.batches.ingest import IngestReport, ingest_batch
from core.models import BatchJob
from core.services.batch_service import BatchService

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


def _errors_of(remote) -> list[dict]:
    errors = getattr(remote, "errors", None)
    data = getattr(errors, "data", None) or []
    return [entry.model_dump() if hasattr(entry, "model_dump") else dict(entry) for entry in data]


def _record(batch: BatchJob, remote) -> bool:
    """Copy what the provider says into ``batch``; True when the status changed."""
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
    batch.last_polled_at = timezone.now()
    return changed


def refresh_batch(batch: BatchJob, service: BatchService) -> BatchJob:
    """Ask the provider for the batch's state and store it."""
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
    if not batch.is_terminal:
        batch = refresh_batch(batch, service)
    if batch.is_terminal:
        return ingest_batch(batch, service)
    return None


def poll_open_batches(service: BatchService | None = None) -> list[tuple[BatchJob, IngestReport | None]]:
    """Every batch not yet ingested, oldest first."""
    service = service or BatchService()
    results = []
    for batch in BatchJob.objects.filter(ingested_at__isnull=True).order_by("created_at"):
        try:
            results.append((batch, poll_batch(batch, service)))
        except openai.APIError as exc:
            # One batch the provider cannot answer for must not stop the others from being polled.
            log_batch_event("poll_failed", batch, logging.ERROR, error=f"{type(exc).__name__}: {exc}")
    return results
