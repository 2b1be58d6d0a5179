"""Read-only aggregates for the operator dashboard: rows by status, batches by hour, spend by kind.

Kept apart from the other selectors (which the workflow and commands use) because these exist only to draw
the admin dashboard. Every function is one GROUP BY over an indexed or small table, so the dashboard
stays cheap however many BatchItems there are: request and failure counts come from the batches'
own counters, never from scanning items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncHour

from core.batches.costs import synchronous_cost
from core.models import BatchJob


def count_by(queryset: QuerySet, field: str, choices: list[str] | None = None) -> dict[str, int]:
    """Rows of ``queryset`` per value of ``field``; with ``choices``, every choice is present (zero included)."""
    counts = dict(queryset.order_by().values_list(field).annotate(n=Count("pk")))
    if choices is None:
        return counts
    return {value: counts.get(value, 0) for value in choices}


@dataclass
class HourlyRequests:
    hour: datetime
    requests: int
    completed: int
    failed: int


def requests_by_hour(since: datetime) -> list[HourlyRequests]:
    """Per hour since ``since``: requests in the batches created that hour, and how many succeeded or failed.

    The counts are the provider's request_counts stored on each batch, so a batch still running shows
    what it has done so far.
    """
    rows = (
        BatchJob.objects.filter(created_at__gte=since)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(requests=Sum("total"), completed=Sum("completed"), failed=Sum("failed"))
        .order_by("hour")
    )
    return [
        HourlyRequests(row["hour"], row["requests"] or 0, row["completed"] or 0, row["failed"] or 0) for row in rows
    ]


@dataclass
class KindSpend:
    kind: str
    batches: int
    batch_cost: Decimal
    synchronous_cost: Decimal


def spend_by_kind(batches: QuerySet | None = None) -> list[KindSpend]:
    """What each kind of batch cost, next to what the same tokens cost through the synchronous API.

    Mirrors ``selectors.summarize_batches``: reported tokens where the provider gave them, the submit
    estimate otherwise; but it sums the batches' columns only, without counting their items.
    """
    batches = BatchJob.objects.all() if batches is None else batches
    rows = (
        batches.order_by()
        .values("kind", "model")
        .annotate(
            n=Count("pk"),
            spent=Sum("estimated_cost"),
            tin=Sum("input_tokens"),
            test=Sum("estimated_input_tokens"),
            tout=Sum("output_tokens"),
        )
    )
    by_kind: dict[str, KindSpend] = {}
    for row in rows:
        spend = by_kind.setdefault(row["kind"], KindSpend(row["kind"], 0, Decimal(0), Decimal(0)))
        spend.batches += row["n"]
        spend.batch_cost += row["spent"] or Decimal(0)
        spend.synchronous_cost += synchronous_cost(row["model"], row["tin"] or row["test"] or 0, row["tout"] or 0)
    return sorted(by_kind.values(), key=lambda spend: spend.kind)
