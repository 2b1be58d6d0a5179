"""Set-up shared by the benchmarks: Django on a throwaway embedded PostgreSQL, peak RSS, timing.

Benchmarks never touch the developer's database: each run starts its own server in a temporary
directory and removes it at exit.
"""

from __future__ import annotations

import atexit
import os
import resource
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def setup_django(**env: str) -> Path:
    """Point Django at a fresh embedded server and migrate it; returns the scratch directory."""
    scratch = Path(tempfile.mkdtemp(prefix="recruit-bench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "recruit.settings",
            "EMBEDDED_DB_DIR": str(scratch / "pg"),
            "MOCK_BATCH_DIR": str(scratch / "mock"),
            "BATCH_WORK_DIR": str(scratch / "work"),
            "RECRUIT_DATA_DIR": str(scratch / "data"),
            "LOG_LEVEL": "WARNING",
            **env,
        }
    )
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    def cleanup():
        from django.db import connections

        from recruit import embedded_db

        connections.close_all()
        embedded_db.destroy(scratch / "pg")
        shutil.rmtree(scratch, ignore_errors=True)

    atexit.register(cleanup)
    return scratch


def cpu_seconds() -> float:
    """User and system time of this process and of its children that have ended (the mock's forked
    workers): unlike wall time, barely moved by other load on the machine."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def postgres_cpu_seconds(scratch: Path) -> float:
    """User and system time of the embedded PostgreSQL under ``scratch`` (setup_django's): the postmaster,
    its live backends and workers, and those that have ended. Its work (index builds, the match
    statement, writes) runs outside the benchmark's processes, so cpu_seconds() leaves it out."""
    import psutil

    from recruit import embedded_db

    server = embedded_db.read_running(scratch / "pg")
    if server is None:
        return 0.0
    postmaster = psutil.Process(server.pid)
    own = postmaster.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system
    for child in postmaster.children():
        try:
            times = child.cpu_times()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):  # ended while we looked; once the postmaster
            continue  # has reaped it, its time is in the postmaster's children times (a stage may read low)
        total += times.user + times.system
    return total


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label: str, results: dict):
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start


def make_centres(clusters: int, dims: int, seed: int = 0):
    import numpy as np

    centres = np.random.default_rng(seed).standard_normal((clusters, dims)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def clustered_vectors(count: int, centres, seed: int, noise: float = 1.0):
    """Unit vectors scattered around shared centres: the shape real CV and job embeddings have
    (professions form clusters), and a harder case for an approximate index than uniform noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    dims = centres.shape[1]
    members = centres[rng.integers(0, len(centres), count)]
    members = members + noise * rng.standard_normal((count, dims)).astype(np.float32) / np.sqrt(dims)
    return (members / np.linalg.norm(members, axis=1, keepdims=True)).astype(np.float32)


def copy_vectors(table: str, columns: str, types: list[str], rows) -> None:
    """Bulk-load rows (with a vector column) through binary COPY; ``types`` names each column's type."""
    from django.db import connection
    from pgvector.psycopg import register_vector

    connection.ensure_connection()
    register_vector(connection.connection)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
