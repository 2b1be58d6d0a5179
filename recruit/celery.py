"""The Celery application; its configuration is the CELERY_* names in recruit.settings."""

import contextlib
import logging
import os
import socket
import time
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruit.settings")

app = Celery("recruit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@worker_init.connect
def _create_filesystem_broker_folders(**_kwargs):
    """kombu's filesystem transport expects its folders to exist; create them so a bare machine works."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


# --- exactly one beat -------------------------------------------------------------------------------


class BeatAlreadyRunning(SystemExit):
    """Another beat holds the lock, so this one must not schedule anything: the process exits with
    status 1, once the reason is logged."""


class BeatLockLost(RuntimeError):
    """A running beat lost its lock (its database session ended) and another beat has taken it since."""


class BeatLock:
    """A PostgreSQL session advisory lock, held by a connection of its own for as long as beat runs.

    The server releases it when that connection ends, so a beat that dies (SIGKILL, a lost machine)
    frees it at once, without a TTL to wait out. It is per database: every beat of one deployment
    shares the database, and so the lock.
    """

    # pg_try_advisory_lock(int4, int4): pg_locks shows them as classid, objid (objsubid = 2).
    KEY = (0x72656372, 0x62656174)  # "recr", "beat"
    APPLICATION_NAME = "recruit celery beat"

    def __init__(self, alias: str = "default"):
        self.alias = alias
        self.connection = None
        self.owner = f"{self.APPLICATION_NAME} {socket.gethostname()} pid {os.getpid()}"

    def _connect(self):
        from django.db import connections

        wrapper = connections[self.alias]
        params = wrapper.get_connection_params()
        params["application_name"] = self.owner[:63]
        # A dead TCP peer must fail the lock check, not hang beat (libpq ignores these on Unix sockets).
        params.update(connect_timeout=10, keepalives=1, keepalives_idle=30, keepalives_interval=10,
                      keepalives_count=3)
        connection = wrapper.get_new_connection(params)
        connection.autocommit = True
        return connection

    def acquire(self) -> None:
        """Take the lock, or raise BeatAlreadyRunning naming the holder."""
        self.release()
        self.connection = self._connect()
        acquired = self.connection.execute("SELECT pg_try_advisory_lock(%s::int4, %s::int4)", self.KEY).fetchone()[0]
        if not acquired:
            holder = self._holder()
            self.release()
            message = (
                f"Another Celery beat is already running ({holder}); exactly one beat may run per deployment, "
                "or every periodic task would be sent twice. Stop the other beat (or the worker started with -B) "
                "first."
            )
            logger.critical("beat: %s", message)
            raise BeatAlreadyRunning(1)
        logger.info("beat: holding the single-beat lock (PostgreSQL advisory lock %s)", self.KEY)

    def _holder(self) -> str:
        row = self.connection.execute(
            "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid::int8 = %s::int8 AND l.objid::int8 = %s::int8 AND l.objsubid = 2",
            self.KEY,
        ).fetchone()
        if row is None:
            return "its holder has just left; try again"
        name, address, since = row
        where = address or "a local socket"
        return f"{name or 'an unnamed client'}, connected from {where} since {since:%Y-%m-%d %H:%M:%S %Z}"

    def held(self) -> bool:
        """Whether the lock's connection is still alive (the server drops the lock with it)."""
        if self.connection is None or self.connection.closed:
            return False
        try:
            self.connection.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure means the session, and so the lock, is gone
            return False
        return True

    def release(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection is best effort
                self.connection.close()  # ends the session, which releases the lock
            self.connection = None


class SingleBeatScheduler(PersistentScheduler):
    """The default scheduler (schedule kept in a shelve file), refusing to run beside another beat.

    It takes the BeatLock before opening its schedule and exits with status 1, saying which beat holds
    it, when another has it. While running it checks the lock every ``lock_check_interval`` seconds;
    if the database connection was lost it sends nothing until the lock is taken again, and exits if
    another beat took it meanwhile.
    """

    lock_check_interval = 15.0
    lock_retry_interval = 5.0
    lock_class = BeatLock

    def setup_schedule(self):
        self.beat_lock = self.lock_class()
        self.beat_lock.acquire()  # raises BeatAlreadyRunning before the schedule file is touched
        self._lock_is_held = True
        self._next_lock_check = time.monotonic() + self.lock_check_interval
        super().setup_schedule()

    def _lock_ok(self) -> bool:
        now = time.monotonic()
        if now < self._next_lock_check:
            return self._lock_is_held
        self._next_lock_check = now + self.lock_check_interval
        if self._lock_is_held:
            if self.beat_lock.held():
                return True
            logger.error("beat: the single-beat lock's database session ended; taking the lock again")
        try:
            self.beat_lock.acquire()
        except BeatAlreadyRunning:
            # Raised as an error, not SystemExit: beat's loop treats SystemExit as a clean stop (status 0).
            raise BeatLockLost("another beat took the single-beat lock while this one had lost it") from None
        except Exception as error:  # noqa: BLE001 - the database is unreachable: retry shortly
            logger.error("beat: cannot take the single-beat lock (%s); sending nothing until it can", error)
            self.beat_lock.release()
            self._lock_is_held = False
            self._next_lock_check = now + self.lock_retry_interval
            return False
        self._lock_is_held = True
        return True

    def tick(self, *args, **kwargs):
        if not self._lock_ok():
            return self.lock_retry_interval
        return super().tick(*args, **kwargs)

    def close(self):
        super().close()
        lock = getattr(self, "beat_lock", None)
        if lock is not None:
            lock.release()
