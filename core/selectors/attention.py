"""What needs an operator: rows that failed for good, batches that failed or were lost and left work
undone, and, for batches with failed requests, whether those failures recovered in a later batch.

A failed request is retried automatically, so most failures fix themselves; listing them all as
failures hides the few that did not. Whether a failure recovered is read from the rows themselves
(is the row done now?) and from the later item that succeeded for it ("retried in batch X").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from core.batches.registry import all_kinds, get_kind
from core.models import BatchItem, BatchJob, BatchKind, BatchStatus, ItemStatus

RECENT_BATCHES = 10


@dataclass(frozen=True)
class FailedRows:
    kind: str
    label: str  # the kind's name: "CV parse"
    count: int
    model_name: str  # for the admin change list link
    status_field: str


@dataclass
class BatchFailures:
    batch: BatchJob
    gave_up: int = 0  # rows behind its failed requests that failed for good
    pending_again: int = 0  # rows behind them still waiting for a retry
    retried_in: list[BatchJob] = field(default_factory=list)  # later batches where some succeeded

    @property
    def recovered(self) -> bool:
        return not self.gave_up and not self.pending_again

    @property
    def broken(self) -> bool:
        """The batch itself failed or was lost (rather than some of its requests)."""
        return self.batch.lost_at is not None or self.batch.status == BatchStatus.FAILED

    @property
    def needs_attention(self) -> bool:
        """Rows gave up, or the batch itself failed or was lost and left work undone."""
        return bool(self.gave_up) or (self.broken and not self.recovered)


def failed_rows() -> list[FailedRows]:
    """Per kind, rows that used up their attempts: nothing retries them until an operator does."""
    return [
        FailedRows(
            name,
            BatchKind(name).label,
            spec.model.objects.filter(**{spec.state.status: spec.state.failed}).count(),
            spec.model._meta.model_name,
            spec.state.status,
        )
        for name, spec in all_kinds().items()
    ]


def batch_failures(batch: BatchJob) -> BatchFailures:
    """Where the rows behind the batch's failed and not-run requests are now: three queries."""
    spec = get_kind(batch.kind)
    state = spec.state
    column = f"{spec.item_field}_id"
    rows = set(
        BatchItem.objects.filter(batch=batch, status__in=[ItemStatus.FAILED, ItemStatus.NOT_RUN])
        .exclude(**{f"{column}__isnull": True})
        .values_list(column, flat=True)
    )
    statuses = dict(spec.model.objects.filter(pk__in=list(rows)).values_list("pk", state.status))
    done = [row for row, status in statuses.items() if status == state.done]
    gave_up = sum(1 for status in statuses.values() if status == state.failed)
    later = (
        list(
            BatchJob.objects.filter(pk__gt=batch.pk)
            .filter(
                pk__in=BatchItem.objects.filter(status=ItemStatus.SUCCEEDED, **{f"{column}__in": done}).values("batch")
            )
            .only("pk", "provider_batch_id", "kind")
            .order_by("pk")[:3]
        )
        if done
        else []
    )
    return BatchFailures(batch, gave_up, len(statuses) - len(done) - gave_up, later)


def recent_batch_failures(limit: int = RECENT_BATCHES) -> list[BatchFailures]:
    """The latest batches with failed requests, that failed, or were lost, each with where their rows
    are now: three queries per batch, for at most ``limit`` batches."""
    batches = (
        BatchJob.objects.filter(Q(failed__gt=0) | Q(status=BatchStatus.FAILED) | Q(lost_at__isnull=False))
        .only("provider_batch_id", "kind", "status", "failed", "total", "created_at", "lost_at", "poll_failures")
        .order_by("-pk")[:limit]
    )
    return [batch_failures(batch) for batch in batches]
