"""The CV HNSW index (``cv_embedding_hnsw``) around bulk loads.

The index serves one query, a job's best candidates (core.matching.candidates). Maintained row by
row it makes applying CV embeddings about ten times slower (docs/BENCHMARKS.md, bench_embedding_apply),
so an initial load into a mostly new table is faster with the index dropped before and built once
after: ``CREATE INDEX CONCURRENTLY``, which does not block writes, with pgvector's parallel build and
``maintenance_work_mem`` large enough for the graph to be built in memory (pgvector warns and slows
down sharply once the graph no longer fits).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.db import connection

from core.models import HNSW_INDEXES

INDEX = HNSW_INDEXES["core_cv"]
# Per vector in the in-memory graph: the half-precision vector, m = 16 neighbours on layer 0 (twice
# m) and above, and pgvector's element overhead; doubled for headroom.
GRAPH_BYTES_PER_ROW_OVERHEAD = 2 * 16 * 2 * 8 + 128
MIN_MEMORY_MB = 64
MAX_MEMORY_MB = 2048


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
    if not cv_index_valid():
        drop_cv_index()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_cv WHERE embedding IS NOT NULL")
        [rows] = cursor.fetchone()
        memory = memory_for(rows)
        # The leader builds too: one worker per other core, within the server's own worker limits.
        workers = max(0, (os.cpu_count() or 1) - 1)
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [f"{memory}MB"])
        cursor.execute("SELECT set_config('max_parallel_maintenance_workers', %s, false)", [str(workers)])
        try:
            cursor.execute(_definition(concurrently))
        finally:
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("RESET max_parallel_maintenance_workers")
    how = "concurrently" if concurrently else "blocking writes"
    return f"{how}, {rows:,} vectors, maintenance_work_mem {memory} MB, up to {workers} parallel workers"
