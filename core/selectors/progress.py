"""How far the pipeline has got: rows waiting per kind, and each stage's finished rows out of its total."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from core.batches.registry import all_kinds, get_kind
from core.models import CV


def pending_counts() -> dict[str, int]:
    """Rows each kind would submit now."""
    return {name: spec.pending().count() for name, spec in all_kinds().items()}


def pending_at_least(kind: str, rows: int) -> bool:
    """Whether ``kind`` has at least ``rows`` rows to submit: counted up to that many, no further."""
    return get_kind(kind).pending()[:rows].count() >= rows


@dataclass
class StageProgress:
    name: str
    finished: int
    total: int


def stage_progress() -> list[StageProgress]:
    """Every stage in pipeline order, finished (done or given up) out of the rows it is meant to reach.

    The batch kinds come from the registry; matching, which is no batch, stands before the kinds that
    work on its predictions.
    """
    kinds = list(all_kinds().values())
    before = [_kind_progress(spec) for spec in kinds if not spec.after_matching]
    after = [_kind_progress(spec) for spec in kinds if spec.after_matching]
    return [*before, _match_progress(), *after]


def _kind_progress(spec) -> StageProgress:
    state = spec.state
    finished = Q(**{f"{state.status}__in": [state.done, state.failed]})
    counts = spec.scope().aggregate(total=Count("pk"), finished=Count("pk", filter=finished))
    return StageProgress(spec.label, counts["finished"], counts["total"])


def _match_progress() -> StageProgress:
    counts = CV.objects.aggregate(total=Count("pk"), matched=Count("pk", filter=Q(last_matched_at__isnull=False)))
    return StageProgress("match CVs", counts["matched"], counts["total"])
