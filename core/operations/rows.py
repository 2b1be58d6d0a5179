"""Sending work rows through a stage again: after an operator's fix, a new model, or a give-up.

Each is safe to repeat: retrying moves only rows that gave up; redoing raises the rows' input version,
so a request in flight for them (in a batch that may never come back) no longer counts.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, QuerySet

from core.batches.registry import all_kinds, get_kind
from core.models import CV, BatchKind

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


def redo(kind: str, rows: QuerySet) -> int:
    """Send ``rows`` through ``kind``'s stage again with fresh attempts, whatever their status.

    A row queued in a batch is freed too: the result that batch may still bring is superseded.
    """
    state = get_kind(kind).state
    return rows.update(
        **{state.status: state.pending, state.attempts: 0, state.error: "", state.version: F(state.version) + 1}
    )


def reparse_cvs(cvs: QuerySet) -> int:
    """Parse again (and so embed and match again)."""
    return redo(BatchKind.CV_PARSE, cvs)


def reembed_cvs(cvs: QuerySet) -> int:
    return redo(BatchKind.CV_EMBEDDING, cvs)


def rematch_cvs(cvs: QuerySet) -> int:
    """Forget when the CVs were matched so the next match run ranks them again."""
    with transaction.atomic():
        return CV.objects.filter(pk__in=cvs.values("pk")).update(last_matched_at=None)
