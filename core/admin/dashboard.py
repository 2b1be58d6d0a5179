"""The pipeline dashboard: where the rows are, what the batches did in the last day, what they cost.

Charts are drawn on the server (CSS bars and one inline SVG) so the page works offline and without
JavaScript. Every number is one aggregate query over an indexed or small table (see
``core.selectors.overview``); nothing here scans BatchItems except for the last day's batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import TextChoices
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.admin import display
from core.models import (
    CV,
    BatchJob,
    BatchKind,
    BatchStatus,
    EmbeddingStatus,
    ExplanationStatus,
    Job,
    ParseStatus,
    Prediction,
)
from core.selectors.attention import failed_rows, recent_batch_failures
from core.selectors.batches import open_batches, summarize_batches
from core.selectors.overview import count_by, requests_by_hour, spend_by_kind
from core.selectors.predictions import NOT_REQUESTED, not_requested
from core.selectors.progress import stage_progress
from core.services.batch_service import describe_backend

HOURS = 24
SVG_BAR_WIDTH = 22
SVG_GAP = 4
SVG_HEIGHT = 120


@dataclass
class Bar:
    label: str
    value: float
    text: str
    css: str = "info"
    url: str = ""
    width: str = "0"


@dataclass
class Chart:
    title: str
    bars: list[Bar] = field(default_factory=list)
    note: str = ""

    def __post_init__(self):
        top = max((bar.value for bar in self.bars), default=0)
        for bar in self.bars:
            bar.width = display.percent(bar.value, top)


def status_chart(title: str, queryset, field_name: str, choices: type[TextChoices], changelist: str) -> Chart:
    """Rows per status, each bar linking to the change list filtered on that status."""
    counts = count_by(queryset, field_name, choices.values)
    base = reverse(f"admin:core_{changelist}_changelist")
    return Chart(
        title,
        [
            Bar(
                label,
                counts[value],
                f"{counts[value]:,}",
                display.BADGE_CLASSES.get(value, "muted"),
                f"{base}?{field_name}__exact={value}",
            )
            for value, label in choices.choices
        ],
    )


def hourly_svg(since: datetime, now: datetime) -> dict:
    """Bars of requests per hour (completed green, failed red, the rest grey) for an inline SVG."""
    start = since.replace(minute=0, second=0, microsecond=0)
    rows = {row.hour: row for row in requests_by_hour(start)}
    hours = [start + timedelta(hours=offset) for offset in range(HOURS + 1) if start + timedelta(hours=offset) <= now]
    top = max((row.requests for row in rows.values()), default=0) or 1
    bars = []
    for index, hour in enumerate(hours):
        row = rows.get(hour)
        requests, completed, failed = (row.requests, row.completed, row.failed) if row else (0, 0, 0)
        x = index * (SVG_BAR_WIDTH + SVG_GAP)
        scale = (SVG_HEIGHT - 14) / top
        h_total, h_done, h_failed = requests * scale, completed * scale, failed * scale
        bars.append(
            {
                "x": x,
                "label_x": x + SVG_BAR_WIDTH / 2,
                "hour": timezone.localtime(hour).strftime("%H"),
                "show_label": index % 3 == 0,
                "title": f"{timezone.localtime(hour):%Y-%m-%d %H:00}: {requests} requests, {completed} completed, "
                f"{failed} failed",
                "total_y": f"{SVG_HEIGHT - h_total:.1f}",
                "total_h": f"{h_total:.1f}",
                "done_y": f"{SVG_HEIGHT - h_done:.1f}",
                "done_h": f"{h_done:.1f}",
                "failed_y": f"{SVG_HEIGHT - h_done - h_failed:.1f}",
                "failed_h": f"{h_failed:.1f}",
            }
        )
    return {"bars": bars, "width": len(hours) * (SVG_BAR_WIDTH + SVG_GAP), "height": SVG_HEIGHT + 16}


def spend_charts(last_day) -> tuple[Chart, Chart, dict]:
    """The estimated spend at Batch prices next to the same tokens at synchronous prices."""
    by_kind = spend_by_kind()
    batch_total = sum((spend.batch_cost for spend in by_kind), Decimal(0))
    sync_total = sum((spend.synchronous_cost for spend in by_kind), Decimal(0))
    totals = Chart(
        "Estimated spend, all batches",
        [
            Bar("Batch API (estimated)", float(batch_total), display.money(batch_total), "ok"),
            Bar("Same tokens, synchronous", float(sync_total), display.money(sync_total), "warn"),
        ],
    )
    kinds = dict(BatchKind.choices)
    per_kind = Chart(
        "Batch spend by kind",
        [
            Bar(
                kinds.get(spend.kind, spend.kind),
                float(spend.batch_cost),
                f"{display.money(spend.batch_cost)} (synchronous {display.money(spend.synchronous_cost)})",
                "ok",
            )
            for spend in by_kind
        ],
    )
    saved = sync_total - batch_total
    savings = {
        "batch": display.money(batch_total),
        "synchronous": display.money(sync_total),
        "saved": display.money(saved),
        "percent": f"{100 * saved / sync_total:.0f}" if sync_total else "0",
        "last_day_batch": display.money(last_day.batch_cost),
        "last_day_synchronous": display.money(last_day.synchronous_cost),
    }
    return totals, per_kind, savings


def explanation_chart() -> Chart:
    """Predictions by explanation status, with "not requested" apart from "pending": only each CV's
    top EXPLAIN_TOP_N are ever explained, the rest would otherwise wait as "pending" forever."""
    counts = count_by(Prediction.objects.all(), "explanation_status", ExplanationStatus.values)
    unrequested = Prediction.objects.filter(not_requested()).count()
    base = reverse("admin:core_prediction_changelist")
    bars = []
    for value, label in ExplanationStatus.choices:
        count = counts[value] - (unrequested if value == ExplanationStatus.PENDING else 0)
        bars.append(
            Bar(
                label,
                count,
                f"{count:,}",
                display.BADGE_CLASSES.get(value, "muted"),
                f"{base}?explanation_status__exact={value}",
            )
        )
    bars.append(Bar(NOT_REQUESTED, unrequested, f"{unrequested:,}", "muted"))
    return Chart("Predictions by explanation status", bars)


def dashboard_view(request):
    """Staff only (routed through ``admin.site.admin_view``), and only those who may view batches.

    The page names batches and counts every table, so a staff account without read access to the
    pipeline's models is refused it like their change lists.
    """
    if not request.user.has_perm("core.view_batchjob"):
        raise PermissionDenied
    failures = recent_batch_failures()
    for entry in failures:
        entry.badge = display.batch_status(entry.batch)
    failed_rows_all = failed_rows()
    broken = sum(1 for entry in failures if entry.needs_attention and entry.broken)
    now = timezone.now()
    since = now - timedelta(hours=HOURS)
    last_day = summarize_batches(BatchJob.objects.filter(created_at__gte=since))
    spend_total, spend_kinds, savings = spend_charts(last_day)
    kinds = dict(BatchKind.choices)
    batch_kinds = count_by(BatchJob.objects.all(), "kind", BatchKind.values)
    batches_url = reverse("admin:core_batchjob_changelist")
    progress = [
        Bar(
            stage.name,
            stage.finished,
            f"{stage.finished:,} / {stage.total:,}",
            "ok",
            width=display.percent(stage.finished, stage.total),
        )
        for stage in stage_progress()
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Pipeline dashboard",
        "backend": describe_backend(),
        "open_batches": open_batches().count(),
        "progress": progress,
        "row_charts": [
            status_chart("CVs by parse status", CV.objects.all(), "parse_status", ParseStatus, "cv"),
            status_chart("CVs by embedding status", CV.objects.all(), "embedding_status", EmbeddingStatus, "cv"),
            status_chart("Jobs by embedding status", Job.objects.all(), "embedding_status", EmbeddingStatus, "job"),
            explanation_chart(),
        ],
        "batch_charts": [
            status_chart("Batches by status", BatchJob.objects.all(), "status", BatchStatus, "batchjob"),
            Chart(
                "Batches by kind",
                [
                    Bar(kinds[kind], count, f"{count:,}", "info", f"{batches_url}?kind__exact={kind}")
                    for kind, count in batch_kinds.items()
                ],
            ),
        ],
        "last_day": last_day,
        "hourly": hourly_svg(since, now),
        "spend_charts": [spend_total, spend_kinds],
        "savings": savings,
        "batch_failures": failures,
        "failed_rows": [rows for rows in failed_rows_all if rows.count],
        "needs_attention": sum(rows.count for rows in failed_rows_all) + broken,
        "broken_batches": broken,
    }
    return render(request, "core/dashboard.html", context)
