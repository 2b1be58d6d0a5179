"""Calibrate where a backend's match scores count as good and strong, from the scores it produced.

Cosine scores are not comparable across embedding models: the mock's feature-hashing vectors put a
CV's best job near 0.5, OpenAI's near 0.7. Fixed thresholds ("strong from 0.75") therefore call every
mock match weak. The bands are percentiles of each CV's best score (its rank-1 prediction) among the
CVs that backend embedded: good is better than the typical CV's best match, strong is among the top
tenth of best matches. Bands are stored (ScoreBands) and recomputed after CVs were matched again
or once older than BANDS_MAX_AGE, so a list page reads one row instead of a percentile over every
prediction.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import CharField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.models import Backend, BatchJob, BatchKind, ItemStatus, MatchSnapshot, ScoreBands

GOOD_PERCENTILE = 0.5
STRONG_PERCENTILE = 0.9
# Fewer best-match scores than this say too little about the distribution: no bands (labels then rest on
# skills and title alone). The bands are computed again (BANDS_MAX_AGE) as matches accumulate.
MIN_SAMPLE = 10
BANDS_MAX_AGE = timedelta(hours=1)

# Each CV's best score, attributed to the backend of the batch that last embedded it successfully.
PERCENTILES_SQL = """
SELECT percentile_cont(%(good)s) WITHIN GROUP (ORDER BY p.score),
       percentile_cont(%(strong)s) WITHIN GROUP (ORDER BY p.score),
       count(*)
FROM core_prediction p
WHERE p.rank = 1 AND (
    SELECT b.backend FROM core_batchitem i JOIN core_batchjob b ON b.id = i.batch_id
    WHERE i.cv_id = p.cv_id AND b.kind = %(kind)s AND i.status = %(succeeded)s
    ORDER BY i.id DESC LIMIT 1
) = %(backend)s
"""


def _cv_embedding_batches_newest_first():
    return BatchJob.objects.filter(kind=BatchKind.CV_EMBEDDING, ingested_at__isnull=False).order_by("-pk")


def scoring_backend() -> str:
    """The backend whose vectors the stored scores come from: the one that embedded CVs last."""
    return _cv_embedding_batches_newest_first().values_list("backend", flat=True).first() or Backend.MOCK


def _scoring_backend_sql():
    """``scoring_backend()`` as an expression, so that reading the bands is one query."""
    last = _cv_embedding_batches_newest_first().values("backend")[:1]
    return Coalesce(Subquery(last), Value(Backend.MOCK), output_field=CharField())


def calibrate(backend: str) -> ScoreBands | None:
    """Recompute and store ``backend``'s bands; None when it has too few scores to say (stored too, so
    the next page does not ask again before BANDS_MAX_AGE)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                PERCENTILES_SQL,
                {
                    "good": GOOD_PERCENTILE,
                    "strong": STRONG_PERCENTILE,
                    "kind": BatchKind.CV_EMBEDDING,
                    "succeeded": ItemStatus.SUCCEEDED,
                    "backend": backend,
                },
            )
            good, strong, sample = cursor.fetchone()
        if sample < MIN_SAMPLE:
            good = strong = None
        bands, _created = ScoreBands.objects.update_or_create(
            backend=backend,
            defaults={"good_from": good, "strong_from": strong, "sample_size": sample, "computed_at": timezone.now()},
        )
    return bands if good is not None else None


def current_bands(backend: str | None = None) -> ScoreBands | None:
    """The bands of ``backend`` (by default the scoring backend's), recalibrated after CVs were matched
    again (a small table: one snapshot per chunk still current) or once older than BANDS_MAX_AGE; None
    while uncalibrated. One query when the stored bands are current."""
    stored = (
        ScoreBands.objects.filter(backend=backend if backend else _scoring_backend_sql())
        .annotate(matched_since=Exists(MatchSnapshot.objects.filter(created_at__gt=OuterRef("computed_at"))))
        .first()
    )
    if stored is None or stored.matched_since or timezone.now() - stored.computed_at > BANDS_MAX_AGE:
        return calibrate(backend or scoring_backend())
    return stored if stored.good_from is not None else None
