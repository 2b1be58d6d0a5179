"""Operator actions on one batch: poll, cancel, retry its failures, ingest it again.

``refusal`` is the one place that says which action applies to a batch in which state: the admin
offers a button only where it says None, and commands and admin actions report its reason.
"""

from __future__ import annotations

from core.batches.events import log_batch_event
from core.batches.ingest import IngestReport, ingest_batch
from core.batches.poll import poll_batch, refresh_batch
from core.batches.registry import get_kind
from core.models import BatchItem, BatchJob, BatchStatus, ItemStatus
from core.services.batch_service import BatchService

OPERATIONS = ("poll", "cancel", "retry_failed", "reingest")


class NotApplicable(ValueError):
    """The action does not apply to the batch in its present state; the message says why."""


def refusal(operation: str, batch: BatchJob) -> str | None:
    """Why ``operation`` does not apply to ``batch`` now, or None when it does."""
    if operation == "poll":
        return "already ingested, nothing to poll" if batch.ingested_at is not None else None
    if operation == "cancel":
        if batch.status == BatchStatus.CANCELLED:
            return "already cancelled"
        return f"already {batch.status}: only a batch in progress can be cancelled" if batch.is_terminal else None
    if operation == "retry_failed":
        if batch.ingested_at is None:
            return "not ingested yet: its failed items are not known"
        return None if batch.failed > 0 or batch.total > batch.completed else "no failed items"
    if operation == "reingest":
        return None if batch.is_terminal else f"still {batch.status}, poll it instead"
    raise ValueError(f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}")


def _check(operation: str, batch: BatchJob) -> None:
    reason = refusal(operation, batch)
    if reason is not None:
        raise NotApplicable(f"{batch.kind} {batch.provider_batch_id}: {reason}")


def poll_now(batch: BatchJob, service: BatchService | None = None) -> IngestReport | None:
    """Ask the provider about the batch now, and ingest it if it has finished."""
    _check("poll", batch)
    return poll_batch(batch, service or BatchService())


def cancel(batch: BatchJob, service: BatchService | None = None) -> BatchJob:
    """Ask the provider to cancel; the cancelled batch's unfinished items return to pending on ingest."""
    _check("cancel", batch)
    service = service or BatchService()
    service.cancel_batch(batch.provider_batch_id)
    log_batch_event("cancel_requested", batch)
    return refresh_batch(batch, service)


def retry_batch_failures(batch: BatchJob) -> int:
    """Send the rows behind a batch's failed or not-run items back to pending, if they gave up."""
    spec = get_kind(batch.kind)
    state = spec.state
    row_ids = BatchItem.objects.filter(batch=batch, status__in=[ItemStatus.FAILED, ItemStatus.NOT_RUN]).values_list(
        f"{spec.item_field}_id", flat=True
    )
    moved = spec.model.objects.filter(pk__in=row_ids, **{state.status: state.failed}).update(
        **{state.status: state.pending, state.attempts: 0}
    )
    if moved:
        log_batch_event("items_retried", batch, count=moved, by="operator")
    return moved


def reingest(batch: BatchJob, service: BatchService | None = None) -> IngestReport:
    """Read a finished batch's files again; only results not applied yet are applied."""
    _check("reingest", batch)
    BatchJob.objects.filter(pk=batch.pk).update(ingested_at=None)
    return ingest_batch(batch, service or BatchService())
