"""Stage ``match``: rank active jobs for each CV with pgvector and store the top matches.

Matching runs in the database, one statement per chunk of CVs: a LATERAL join asks the job HNSW index
for each CV's nearest jobs by cosine distance, and the same statement replaces the CV's predictions
(upsert of the new top K, delete of the rest). A prediction whose score moved gets its explanation
redone; one that kept its score keeps its explanation.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Q

from core.models import CV, EmbeddingStatus, ExplanationStatus, Job

logger = logging.getLogger(__name__)

MATCH_CHUNK = 500
SCORE_EPSILON = 1e-6

MATCH_SQL = """
WITH chunk AS (
    SELECT id, embedding FROM core_cv WHERE id = ANY(%(cv_ids)s) AND embedding IS NOT NULL
),
matches AS (
    SELECT chunk.id AS cv_id, m.job_id, 1 - m.distance AS score,
           row_number() OVER (PARTITION BY chunk.id ORDER BY m.distance, m.job_id) AS rank
    FROM chunk
    CROSS JOIN LATERAL (
        -- Candidates come from the half-precision index; scores and ranks from the full vectors.
        SELECT j.id AS job_id, j.embedding <=> chunk.embedding AS distance
        FROM core_job j
        WHERE j.is_active AND j.embedding IS NOT NULL
        ORDER BY j.embedding::halfvec(%(dims)s) <=> chunk.embedding::halfvec(%(dims)s)
        LIMIT %(top_k)s
    ) m
),
stale AS (
    SELECT p.id FROM core_prediction p
    WHERE p.cv_id = ANY(%(cv_ids)s)
      AND NOT EXISTS (SELECT 1 FROM matches WHERE matches.cv_id = p.cv_id AND matches.job_id = p.job_id)
),
detached AS (
    -- BatchItems keep their history when the prediction they served is replaced (on_delete=SET_NULL,
    -- which Django only emulates for ORM deletes).
    UPDATE core_batchitem SET prediction_id = NULL WHERE prediction_id IN (SELECT id FROM stale)
    RETURNING 1
),
removed AS (
    DELETE FROM core_prediction WHERE id IN (SELECT id FROM stale)
    RETURNING 1
),
upserted AS (
    INSERT INTO core_prediction AS p (cv_id, job_id, score, rank, explanation, explanation_status,
                                      explanation_attempts, explanation_error, created_at, updated_at)
    SELECT cv_id, job_id, score, rank, '', %(pending)s, 0, '', now(), now() FROM matches
    ON CONFLICT (cv_id, job_id) DO UPDATE SET
        rank = EXCLUDED.rank,
        score = EXCLUDED.score,
        updated_at = now(),
        explanation = CASE WHEN abs(p.score - EXCLUDED.score) > %(epsilon)s THEN '' ELSE p.explanation END,
        explanation_status = CASE
            WHEN abs(p.score - EXCLUDED.score) > %(epsilon)s AND p.explanation_status <> %(queued)s
            THEN %(pending)s ELSE p.explanation_status END,
        explanation_attempts = CASE
            WHEN abs(p.score - EXCLUDED.score) > %(epsilon)s AND p.explanation_status <> %(queued)s
            THEN 0 ELSE p.explanation_attempts END
    RETURNING 1
)
UPDATE core_cv SET last_matched_at = now() WHERE id IN (SELECT id FROM chunk)
RETURNING (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed), (SELECT count(*) FROM detached)
"""


@dataclass
class MatchReport:
    cvs: int = 0
    predictions: int = 0
    removed: int = 0


def cvs_needing_match():
    """Embedded CVs never matched, re-embedded since, or matched before the newest active job arrived."""
    newest_job = Job.objects.filter(is_active=True, embedding_status=EmbeddingStatus.EMBEDDED).aggregate(
        newest=Max("embedded_at")
    )["newest"]
    stale = Q(last_matched_at__isnull=True) | Q(last_matched_at__lt=F("embedded_at"))
    if newest_job is not None:
        stale |= Q(last_matched_at__lt=newest_job)
    return CV.objects.filter(embedding_status=EmbeddingStatus.EMBEDDED, embedding__isnull=False).filter(stale)


def match_chunk(cv_ids: list[int], top_k: int | None = None) -> tuple[int, int]:
    """Match the given CVs now; returns (predictions written, predictions removed)."""
    with transaction.atomic(), connection.cursor() as cursor:
        top_k = top_k or settings.MATCH_TOP_K
        # ef_search bounds recall and cost (docs/BENCHMARKS.md); it must be at least top_k. Predictions are
        # recomputable, so a crash may lose the last commits (synchronous_commit off) but never corrupts:
        # the CV's last_matched_at is lost with them and it is matched again.
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(settings.MATCH_EF_SEARCH, top_k)])
        cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        # The planner's cost model for HNSW scans is rough: at some ef_search values it prefers reading
        # every job (sequentially or through a btree) and sorting, 80x slower. Discouraging scans and sorts
        # leaves the HNSW index scan, which yields rows already in distance order, as the cheapest plan.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            MATCH_SQL,
            {
                "cv_ids": cv_ids,
                "top_k": top_k,
                "dims": settings.EMBEDDING_DIMENSIONS,
                "pending": ExplanationStatus.PENDING,
                "queued": ExplanationStatus.QUEUED,
                "epsilon": SCORE_EPSILON,
            },
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (0, 0)


def match_pending_cvs(chunk_size: int = MATCH_CHUNK, progress=None, workers: int = 1) -> MatchReport:
    """Match every CV that needs it, chunk by chunk.

    Concurrent runs (or ``workers`` threads, each on its own connection) take disjoint chunks through
    SKIP LOCKED; PostgreSQL runs one backend per connection, so two workers use both cores.
    """
    if workers <= 1:
        report = _match_until_done(chunk_size, progress)
    else:
        reports: list[MatchReport] = []

        def worker():
            try:
                reports.append(_match_until_done(chunk_size, progress))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, name=f"match-{n}") for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report = MatchReport(
            cvs=sum(r.cvs for r in reports),
            predictions=sum(r.predictions for r in reports),
            removed=sum(r.removed for r in reports),
        )
    if report.cvs:
        logger.info("event=matched cvs=%s predictions=%s removed=%s", report.cvs, report.predictions, report.removed)
    return report


def _match_until_done(chunk_size: int, progress) -> MatchReport:
    """Walk the CVs needing a match once, in id order: a CV that still looks stale after its match
    (a job embedded meanwhile) waits for the next run instead of keeping this one going forever."""
    report = MatchReport()
    after = 0
    while True:
        with transaction.atomic():
            cv_ids = list(
                cvs_needing_match()
                .filter(pk__gt=after)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk_size]
            )
            if not cv_ids:
                return report
            written, removed = match_chunk(cv_ids)
        after = cv_ids[-1]
        report.cvs += len(cv_ids)
        report.predictions += written
        report.removed += removed
        if progress is not None:
            progress(len(cv_ids))
