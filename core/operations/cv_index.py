"""The CV HNSW index (``cv_embedding_hnsw``) around bulk loads.

The index serves one query, a job's best candidates (core.matching.candidates). Maintained row by
row it makes applying CV embeddings about ten times slower (docs/BENCHMARKS.md, bench_embedding_apply),
so a bulk load into a mostly new table is faster with the index dropped before and built once after:
``CREATE INDEX CONCURRENTLY``, which does not block writes, with pgvector's parallel build and
``maintenance_work_mem`` large enough for the graph to be built in memory (pgvector warns and slows
down sharply once the graph no longer fits).

The workflow does this by itself (core.workflow.steps): before polling, ``drop_for_bulk_load`` drops
the index when at least ``CV_INDEX_BULK_LOAD_ROWS`` CVs await their embedding and they outnumber the
CVs already embedded; after polling, ``build_after_load`` builds it once that is no longer so and no
finished CV embedding batch is waiting to be ingested. (Not "once no CV awaits one": with a steady
trickle of new CVs and real batches taking hours, that moment may never come.) Until then the
candidate search is exact, by a sequential scan: slower, never wrong. Both run outside any
transaction (PostgreSQL requires it of the concurrent forms) and under a session advisory lock, so
two workers never drop and build at once; a build cut short (a killed worker) leaves an invalid
index, which the next ``build_after_load`` drops and builds again.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings
from django.db import connection
from django.db.models import Q

from core.db_locks import try_session_lock
from core.models import CV, HNSW_INDEXES, TERMINAL_BATCH_STATUSES, BatchJob, BatchKind, EmbeddingStatus, ParseStatus

logger = logging.getLogger(__name__)

INDEX = HNSW_INDEXES["core_cv"]
# Per vector in the in-memory graph: the half-precision vector, m = 16 neighbours on layer 0 (twice
# m) and above, and pgvector's element overhead; doubled for headroom.
GRAPH_BYTES_PER_ROW_OVERHEAD = 2 * 16 * 2 * 8 + 128
MIN_MEMORY_MB = 64
MAX_MEMORY_MB = 2048
ADVISORY_LOCK = (0x5EC3, 1)  # pg_try_advisory_lock(int, int): "CV index maintenance"


def _definition(concurrently: bool) -> str:
    """Migration 0004's index (skipped if a valid one exists)."""
    dims = settings.EMBEDDING_DIMENSIONS
    return (
        f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}IF NOT EXISTS {INDEX} ON core_cv"
        f" USING hnsw ((embedding::halfvec({dims})) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)"
    )


def memory_for(rows: int) -> int:
    """maintenance_work_mem, in MB, for an HNSW graph of ``rows`` vectors, within sane bounds."""
    per_row = 2 * (settings.EMBEDDING_DIMENSIONS * 2 + GRAPH_BYTES_PER_ROW_OVERHEAD)
    return max(MIN_MEMORY_MB, min(MAX_MEMORY_MB, rows * per_row // (1024 * 1024) + 1))


def cv_index_valid() -> bool:
    """Whether the index exists and is usable (a failed concurrent build leaves an invalid one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
            [INDEX],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def drop_cv_index() -> None:
    """Drop it without blocking reads or writes (outside a transaction, as PostgreSQL requires)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


def build_cv_index(concurrently: bool = True) -> str:
    """Build the index once over the loaded vectors; returns how it was built. Concurrently (the
    default) it does not block writes, at the price of a second pass over the table and the index;
    ``concurrently=False`` is for a load nothing else writes to.

    An invalid index left by an interrupted build is dropped first (``IF NOT EXISTS`` would keep it).
    Safe to run twice: a valid index is left as it is.
    """
    with connection.cursor() as cursor:
        # A build takes as long as the table needs: a role's statement or lock timeout (a managed server's
        # default) would cut every attempt short and leave an invalid index to be built again, forever.
        cursor.execute("SELECT set_config('statement_timeout', '0', false), set_config('lock_timeout', '0', false)")
        try:
            if not cv_index_valid():
                drop_cv_index()
            cursor.execute("SELECT count(*) FROM core_cv WHERE embedding IS NOT NULL")
            [rows] = cursor.fetchone()
            memory = memory_for(rows)
            # The leader builds too: one worker per other core, within the server's own worker limits.
            # pgvector's parallel build shares the graph in maintenance_work_mem of shared memory: a
            # server in a container needs /dev/shm that large (docker-compose.yml's shm_size).
            workers = max(0, (os.cpu_count() or 1) - 1)
            cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [f"{memory}MB"])
            cursor.execute("SELECT set_config('max_parallel_maintenance_workers', %s, false)", [str(workers)])
            cursor.execute(_definition(concurrently))
        finally:
            for name in ("maintenance_work_mem", "max_parallel_maintenance_workers", "statement_timeout"):
                cursor.execute(f"RESET {name}")
            cursor.execute("RESET lock_timeout")
    how = "concurrently" if concurrently else "blocking writes"
    return f"{how}, {rows:,} vectors, maintenance_work_mem {memory} MB, up to {workers} parallel workers"


def is_bulk_load(awaiting: int, embedded: int) -> bool:
    """Building the graph once costs about a twelfth of inserting each row into it (bench_embedding_apply),
    but without the index the candidate search scans every CV: drop it only for a load at least as large
    as what it already holds."""
    return awaiting >= settings.CV_INDEX_BULK_LOAD_ROWS and awaiting >= embedded


def _bulk_load_under_way() -> tuple[bool, int, int]:
    """Vectors about to be written for the first time against vectors the index holds.

    A CV sent to be embedded again keeps its vector (the index keeps serving it), and a CV still being
    parsed is hours away from its vector on real batches: neither makes a load that should drop the index.
    """
    awaiting = (
        CV.objects.filter(embedding__isnull=True)
        .filter(
            Q(embedding_status=EmbeddingStatus.QUEUED)
            | Q(embedding_status=EmbeddingStatus.PENDING, parse_status__in=[ParseStatus.PARSED, ParseStatus.FAILED])
        )
        .count()
    )
    if awaiting < settings.CV_INDEX_BULK_LOAD_ROWS:
        return False, awaiting, 0  # the common case, without counting the whole table
    embedded = CV.objects.filter(embedding__isnull=False).count()
    return is_bulk_load(awaiting, embedded), awaiting, embedded


def drop_for_bulk_load() -> bool:
    """Drop the index if a bulk load of CV embeddings is under way; whether it was dropped by this call."""
    bulk, awaiting, embedded = _bulk_load_under_way()
    if not bulk or not _index_exists():
        return False
    with try_session_lock(*ADVISORY_LOCK) as acquired:
        if not acquired:
            return False  # another worker is dropping or building it
        drop_cv_index()
    logger.info("event=cv_index_dropped awaiting=%s embedded=%s", awaiting, embedded)
    return True


def build_after_load() -> str | None:
    """Build the index, if it is missing or invalid, once no bulk load is under way; how it was built,
    or None when there was nothing to do yet (or another worker holds the maintenance lock).

    A finished CV embedding batch not yet ingested holds the build back: it is being ingested, or will
    be at the next poll, and its rows are cheaper to write before the graph exists.
    """
    if cv_index_valid() or _bulk_load_under_way()[0]:
        return None
    finished_unread = BatchJob.objects.filter(
        kind=BatchKind.CV_EMBEDDING, status__in=TERMINAL_BATCH_STATUSES, ingested_at__isnull=True
    )
    if finished_unread.exists():
        return None
    with try_session_lock(*ADVISORY_LOCK) as acquired:
        if not acquired or cv_index_valid():
            return None
        how = build_cv_index()
    logger.info("event=cv_index_built how=%r", how)
    return how


def _index_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [INDEX])
        return cursor.fetchone()[0]
