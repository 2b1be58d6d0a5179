"""Operator actions on batches and rows, shared by the admin, the management commands and the tasks.

Each is safe to repeat: retrying moves only rows that gave up, re-parsing leaves queued rows alone
(their batch will settle them), and re-ingesting applies only results not applied yet.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import QuerySet

from core.models import CV, BatchItem, BatchJob, EmbeddingStatus, ItemStatus, ParseStatus
from core.pipeline.events import log_batch_event
from core.pipeline.ingest import IngestReport, ingest_batch
from core.pipeline.poll import poll_batch, refresh_batch
from core.pipeline.registry import all_kinds, get_kind
from core.services.batch_service import BatchService

logger = logging.getLogger(__name__)


def retry_failed_rows(kind: str | None = None) -> dict[str, int]:
    """Give rows that exhausted their attempts a fresh set of attempts; returns how many per kind."""
    moved = {}
    for name, spec in all_kinds().items():
        if kind is not None and name != kind:
            continue
        state = spec.state
        moved[name] = spec.model.objects.filter(**{state.status: state.failed}).update(
            **{state.status: state.pending, state.attempts: 0}
        )
        if moved[name]:
            logger.info("event=rows_retried kind=%s count=%s by=operator", name, moved[name])
    return moved


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


def poll_now(batch: BatchJob, service: BatchService | None = None) -> IngestReport | None:
    return poll_batch(batch, service or BatchService())


def cancel(batch: BatchJob, service: BatchService | None = None) -> BatchJob:
    """Ask the provider to cancel; the cancelled batch's unfinished items return to pending on ingest."""
    service = service or BatchService()
    if batch.is_terminal:
        return batch
    service.cancel_batch(batch.provider_batch_id)
    log_batch_event("cancel_requested", batch)
    return refresh_batch(batch, service)


def reingest(batch: BatchJob, service: BatchService | None = None) -> IngestReport:
    """Read a finished batch's files again; only results not applied yet are applied."""
    if not batch.is_terminal:
        raise ValueError(f"batch {batch.provider_batch_id} is {batch.status}: only a finished batch can be ingested")
    BatchJob.objects.filter(pk=batch.pk).update(ingested_at=None)
    return ingest_batch(batch, service or BatchService())


def reparse_cvs(cvs: QuerySet) -> int:
    """Parse again (and so embed and match again); CVs with a parse in flight are left to it."""
    return cvs.exclude(parse_status=ParseStatus.QUEUED).update(
        parse_status=ParseStatus.PENDING, parse_attempts=0, parse_error=""
    )


def reembed_cvs(cvs: QuerySet) -> int:
    return cvs.exclude(embedding_status=EmbeddingStatus.QUEUED).update(
        embedding_status=EmbeddingStatus.PENDING, embedding_attempts=0, embedding_error=""
    )


def rematch_cvs(cvs: QuerySet) -> int:
    """Forget when the CVs were matched so the next match run ranks them again."""
    with transaction.atomic():
        return CV.objects.filter(pk__in=cvs.values("pk")).update(last_matched_at=None)
