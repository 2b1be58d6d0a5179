"""Read-only questions about batches: which are open, what they sent and cost, how their items ended."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from core.batches.costs import synchronous_cost
from core.models import BatchItem, BatchJob, ItemStatus


def open_batches():
    return BatchJob.objects.filter(ingested_at__isnull=True)


@dataclass
class BatchSummary:
    batches: int
    by_kind: dict[str, int]
    requests: int
    succeeded: int
    failed: int
    not_run: int
    retries: int
    input_tokens: int
    output_tokens: int
    batch_cost: Decimal
    synchronous_cost: Decimal


def summarize_batches(batches) -> BatchSummary:
    """Counts and costs over a BatchJob queryset: what was sent, what failed, what it cost."""
    batch_ids = batches.values("pk")
    items = BatchItem.objects.filter(batch__in=batch_ids).aggregate(
        requests=Count("pk"),
        succeeded=Count("pk", filter=Q(status=ItemStatus.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=ItemStatus.FAILED)),
        not_run=Count("pk", filter=Q(status=ItemStatus.NOT_RUN)),
        retries=Count("pk", filter=Q(attempt__gt=1)),
    )
    by_kind = dict(batches.values_list("kind").annotate(n=Count("pk")).order_by("kind"))
    cost = Decimal(0)
    sync = Decimal(0)
    input_tokens = output_tokens = 0
    per_model = batches.values("model").annotate(
        spent=Sum("estimated_cost"),
        tin=Sum("input_tokens"),
        test=Sum("estimated_input_tokens"),
        tout=Sum("output_tokens"),
    )
    for row in per_model:
        tokens_in = row["tin"] or row["test"] or 0
        tokens_out = row["tout"] or 0
        input_tokens += tokens_in
        output_tokens += tokens_out
        cost += row["spent"] or Decimal(0)
        sync += synchronous_cost(row["model"], tokens_in, tokens_out)
    return BatchSummary(
        batches=sum(by_kind.values()),
        by_kind=by_kind,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        batch_cost=cost,
        synchronous_cost=sync.quantize(Decimal("0.000001")),
        **items,
    )


def find_batch(identifier: str) -> BatchJob | None:
    """The batch an operator names: our BatchJob id (digits) or the provider's id (``batch_...``).

    Operators copy whichever id is in front of them (a log line carries both), so both are accepted.
    """
    identifier = str(identifier).strip()
    if identifier.isdigit():
        return BatchJob.objects.filter(pk=int(identifier)).first()
    return BatchJob.objects.filter(provider_batch_id=identifier).first() if identifier else None


def recent_batches(limit: int = 20, kind: str | None = None, open_only: bool = False):
    """The newest batches first, optionally of one kind or only those not ingested yet."""
    batches = BatchJob.objects.all()
    if kind is not None:
        batches = batches.filter(kind=kind)
    if open_only:
        batches = batches.filter(ingested_at__isnull=True)
    return batches.order_by("-created_at", "-pk")[:limit]


def item_status_counts(batch: BatchJob) -> dict[str, int]:
    """How many of the batch's items are in each ItemStatus (every status present, zero included)."""
    counts = dict(BatchItem.objects.filter(batch=batch).values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in ItemStatus.values}


def failed_items(batch: BatchJob, limit: int = 20):
    """The batch's items that failed or did not run, in custom_id order, for a batch's detail view."""
    return (
        BatchItem.objects.filter(batch=batch, status__in=[ItemStatus.FAILED, ItemStatus.NOT_RUN])
        .order_by("custom_id")
        .only("custom_id", "status", "attempt", "error_code", "error_message")[:limit]
    )
