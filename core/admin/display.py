"""Small HTML pieces the admin lists and pages share: status badges, progress bars, ages and money.

Everything is built with ``format_html`` so values from the provider (statuses, error text) are
escaped; colours come from classes in core/static/core/admin.css, so nothing loads from a CDN.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import F, TextField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

# Status value -> badge colour class. Values shared by several models mean the same thing everywhere.
BADGE_CLASSES = {
    "completed": "ok",
    "succeeded": "ok",
    "parsed": "ok",
    "embedded": "ok",
    "done": "ok",
    "failed": "bad",
    "expired": "warn",
    "cancelling": "warn",
    "not_run": "warn",
    "cancelled": "muted",
    "superseded": "muted",
    "pending": "muted",
    "in_progress": "info",
    "validating": "info",
    "finalizing": "info",
    "queued": "info",
    "not requested": "quiet",
    "outdated": "muted",
    "recovered": "muted",
}

# Match label -> badge colour class (core.selectors.match_labels).
LABEL_CLASSES = {"strong": "ok", "good": "info", "fair": "warn", "weak": "muted"}


def badge(value: str, label: str | None = None):
    """A coloured pill for a status value; ``label`` is the human name (get_FOO_display)."""
    css = BADGE_CLASSES.get(value, "muted")
    return format_html('<span class="rc-badge rc-{}" data-status="{}">{}</span>', css, value, label or value)


def percent(part: int, whole: int) -> str:
    """A CSS width: a dot-decimal string whatever the locale, so templates need no |unlocalize."""
    if not whole:
        return "0"
    return f"{min(100.0, 100.0 * part / whole):.1f}"


def progress_bar(completed: int, failed: int, total: int):
    """Completed (green) and failed (red) shares of the total, with the numbers beside the bar."""
    title = f"{completed} completed, {failed} failed of {total}"
    return format_html(
        '<span class="rc-progress" title="{}"><span class="rc-progress-ok" style="width:{}%"></span>'
        '<span class="rc-progress-bad" style="width:{}%"></span></span>'
        '<span class="rc-progress-text">{} / {} / {}</span>',
        title,
        percent(completed, total),
        percent(failed, total),
        completed,
        failed,
        total,
    )


def age(since: datetime | None, until: datetime | None = None) -> str:
    """A compact duration ("3d 4h", "12m 5s"): how long ago ``since`` was, or how long it took to ``until``."""
    if since is None:
        return "-"
    seconds = int(((until or timezone.now()) - since).total_seconds())
    if seconds < 0:
        return "0s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


def money(amount: Decimal | None) -> str:
    """Dollars with enough digits for the fractions of a cent that small batches cost."""
    if amount is None:
        return "-"
    return f"${amount:,.6f}" if amount < 1 else f"${amount:,.2f}"


def admin_link(model_name: str, pk: int | None, text: str):
    """A link to a core object's admin page, built from the id alone (no query for the object)."""
    if pk is None:
        return "-"
    return format_html('<a href="{}">{}</a>', reverse(f"admin:core_{model_name}_change", args=[pk]), text)


def match_label(evidence):
    """The label as a badge, with the evidence behind it as its tooltip and beside it in small print."""
    return format_html(
        '<span class="rc-badge rc-{}" data-label="{}" title="{}">{}</span> <span class="rc-quiet">{}</span>',
        LABEL_CLASSES[evidence.label],
        evidence.label,
        evidence.summary,
        evidence.label,
        evidence.summary,
    )


def size(n_bytes: int | None) -> str:
    """Bytes for people: "319.3 KB", "1.2 MB"."""
    if n_bytes is None:
        return "-"
    value = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def quantity(n: int | None) -> str:
    """A large count for people: "75,977" reads as "76.0k", "1.2M"; small counts stay exact."""
    if n is None:
        return "-"
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def short_id(provider_id: str, keep: int = 6) -> str:
    """``batch_6b05f15ad7c0…a003``: enough to tell batches apart in a list (the full id is the tooltip)."""
    prefix, _, rest = provider_id.partition("_")
    if not rest or len(rest) <= 2 * keep + 1:
        return provider_id
    return f"{prefix}_{rest[:keep]}…{rest[-4:]}"


def batch_status(batch):
    """The batch's status as a badge that does not hide failed requests: a "completed" batch whose every
    request failed is red, one with some failures orange; poll errors get a badge of their own."""
    if batch.lost_at:
        return badge("failed", "Lost")
    if batch.status == "completed" and batch.total and batch.failed >= batch.total:
        status = badge("failed", "Completed, all failed")
    elif batch.status == "completed" and batch.failed:
        status = badge("expired", f"Completed, {batch.failed} failed")
    else:
        status = badge(batch.status, batch.get_status_display())
    if batch.poll_failures:
        errors = f"{batch.poll_failures} poll error{pluralize(batch.poll_failures)}"
        return format_html("{} {}", status, badge("expired", errors))
    return status


def cv_name_expression(path: str = "cv"):
    """The candidate's name from the parsed resume of the CV at ``path``, else its source name, in SQL:
    lists name their CVs in the query that reads them. (``KT()`` cannot follow a foreign key, so the
    key path is spelled out.)"""
    return Coalesce(
        KeyTextTransform("name", KeyTransform("basics", f"{path}__parsed")),
        F(f"{path}__source_name"),
        output_field=TextField(),
    )
