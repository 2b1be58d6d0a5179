"""Small HTML pieces the admin lists and pages share: status badges, progress bars, ages and money.

Everything is built with ``format_html`` so values from the provider (statuses, error text) are
escaped; colours come from classes in core/static/core/admin.css, so nothing loads from a CDN.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

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
}


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
