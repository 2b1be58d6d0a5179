"""Stage ``match``: rank active jobs for each CV with pgvector and store the top matches.

Matching runs in the database, one statement per chunk of CVs: a LATERAL join asks the job HNSW index
for each CV's nearest jobs by cosine distance, and the same statement replaces the CV's predictions
(upsert of the new top K, delete of the rest). A prediction whose score moved gets its explanation
redone (a new input version: an explanation in flight for the old score is superseded); one that kept
its score keeps its explanation.

Which CVs need matching is decided without comparing clocks: the statement records the snapshot it
ranked under (MatchSnapshot), a stored embedding of a job records its transaction id, and a CV is
stale when some job's transaction is not visible in its snapshot. That is exact under any commit
order, where timestamps of two transactions (``now()`` is when each began) are not: a job whose
ingest began before a match run and committed after it would be missed for good.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from psycopg.errors import DeadlockDetected

from core.db_threads import ConnectionThread
from core.models import CV, EmbeddingStatus, ExplanationStatus

logger = logging.getLogger(__name__)

MATCH_CHUNK = 500
DEADLOCK_RETRIES = 3
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
snapshot AS (
    INSERT INTO core_matchsnapshot (snapshot, xid, created_at)
    VALUES (pg_current_snapshot()::text, pg_current_xact_id()::text::bigint, now()) RETURNING id
),
upserted AS (
    INSERT INTO core_prediction AS p (cv_id, job_id, score, rank, explanation, explanation_status,
                                      explanation_attempts, explanation_error, explanation_version,
                                      created_at, updated_at)
    SELECT cv_id, job_id, score, rank, '', %(pending)s, 0, '', 0, now(), now() FROM matches
    ON CONFLICT (cv_id, job_id) DO UPDATE SET
        rank = EXCLUDED.rank,
        score = EXCLUDED.score,
        updated_at = now(),
        explanation = CASE WHEN abs(p.score - EXCLUDED.score) > %(epsilon)s THEN '' ELSE p.explanation END,
        explanation_status = CASE
            WHEN abs(p.score - EXCLUDED.score) > %(epsilon)s THEN %(pending)s ELSE p.explanation_status END,
        explanation_attempts = CASE
            WHEN abs(p.score - EXCLUDED.score) > %(epsilon)s THEN 0 ELSE p.explanation_attempts END,
        explanation_version = CASE
            WHEN abs(p.score - EXCLUDED.score) > %(epsilon)s THEN p.explanation_version + 1
            ELSE p.explanation_version END
    RETURNING 1
)
UPDATE core_cv SET last_matched_at = now(), matched_in_id = (SELECT id FROM snapshot)
WHERE id IN (SELECT id FROM chunk)
RETURNING (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed), (SELECT count(*) FROM detached)
"""


@dataclass
class MatchReport:
    cvs: int = 0
    predictions: int = 0
    removed: int = 0


# Snapshots some job changed after, as a subquery: a few hundred snapshots at most (one per matched
# chunk still current) against the distinct transactions that last changed a job (index-only scan).
STALE_SNAPSHOTS = """
SELECT s.id FROM core_matchsnapshot s
WHERE EXISTS (
    SELECT 1 FROM (SELECT DISTINCT changed_xid FROM core_job WHERE changed_xid IS NOT NULL) j
    WHERE j.changed_xid <> s.xid AND NOT pg_visible_in_snapshot(j.changed_xid::text::xid8, s.snapshot::pg_snapshot)
)
"""


def cvs_needing_match():
    """Embedded CVs not matched with their present embedding, or matched before some job changed."""
    stale = Q(matched_in__isnull=True) | Q(matched_in__in=RawSQL(STALE_SNAPSHOTS, []))
    return CV.objects.filter(embedding_status=EmbeddingStatus.EMBEDDED, embedding__isnull=False).filter(stale)


def forget_unused_snapshots() -> int:
    """Snapshots no CV refers to any more: a committed snapshot row always came with its CVs, so one
    no CV refers to now was replaced by later matches and is never needed again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM core_matchsnapshot s WHERE NOT EXISTS (SELECT 1 FROM core_cv c WHERE c.matched_in_id = s.id)"
        )
        return cursor.rowcount


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
                "epsilon": SCORE_EPSILON,
            },
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (0, 0)


def match_pending_cvs(
    chunk_size: int = MATCH_CHUNK, progress=None, workers: int | None = None, stop: threading.Event | None = None
) -> MatchReport:
    """Match every CV that needs it, chunk by chunk; once ``stop`` is set, no further chunk starts (what
    was matched stays matched: each chunk commits on its own).

    Concurrent runs (or ``workers`` threads, each on its own connection; ``MATCH_WORKERS`` by default)
    take disjoint chunks through SKIP LOCKED; PostgreSQL runs one backend per connection, so two workers
    use both cores. Inside a transaction only this connection sees its uncommitted rows: one worker.
    """
    workers = settings.MATCH_WORKERS if workers is None else workers
    if workers <= 1 or connection.in_atomic_block:
        report = _match_until_done(chunk_size, progress, stop)
    else:
        threads = [
            ConnectionThread(lambda: _match_until_done(chunk_size, progress, stop), name=f"match-{n}")
            for n in range(workers)
        ]
        for thread in threads:
            thread.join()
        reports = [thread.result() for thread in threads]
        report = MatchReport(
            cvs=sum(r.cvs for r in reports),
            predictions=sum(r.predictions for r in reports),
            removed=sum(r.removed for r in reports),
        )
    if report.cvs:
        forget_unused_snapshots()
        logger.info("event=matched cvs=%s predictions=%s removed=%s", report.cvs, report.predictions, report.removed)
    return report


def _match_until_done(chunk_size: int, progress, stop: threading.Event | None) -> MatchReport:
    """Walk the CVs needing a match once, in id order: a CV that still looks stale after its match
    (a job embedded meanwhile) waits for the next run instead of keeping this one going forever."""
    report = MatchReport()
    after = 0
    while stop is None or not stop.is_set():
        cv_ids, written, removed = _match_next_chunk(after, chunk_size)
        if not cv_ids:
            return report
        after = cv_ids[-1]
        report.cvs += len(cv_ids)
        report.predictions += written
        report.removed += removed
        if progress is not None:
            progress(len(cv_ids))
    return report


def _match_next_chunk(after: int, chunk_size: int) -> tuple[list[int], int, int]:
    """Lock and match the next chunk of CVs after id ``after``: (its CV ids, predictions written and
    removed). A deadlock is retried: the match statement clears the BatchItems of predictions it removes
    while an ingest that holds them may be writing those predictions, and the chunk is idempotent."""
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                cv_ids = list(
                    cvs_needing_match()
                    .filter(pk__gt=after)
                    .select_for_update(skip_locked=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)[:chunk_size]
                )
                if not cv_ids:
                    return [], 0, 0
                written, removed = match_chunk(cv_ids)
            return cv_ids, written, removed
        except OperationalError as exc:
            if not isinstance(exc.__cause__, DeadlockDetected) or attempt == DEADLOCK_RETRIES:
                raise
            logger.warning("event=match_chunk_deadlock attempt=%s after=%s", attempt, after)
            attempt += 1
