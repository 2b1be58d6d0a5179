"""At-least-once delivery, time limits, expiring beat ticks and the single beat, with real processes.

The delivery tests run a real task (core.tasks.poll_batches) in a real `celery worker`; the hook in
tests/celery_worker_hooks.py holds its first run until the test kills the process running it, and
lets later runs go through. Each test has a queue of its own, so workers of other tests sharing the
Redis database never take its messages.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from celery.beat import PersistentScheduler

from recruit.celery import BeatAlreadyRunning, BeatLock, BeatLockLost, SingleBeatScheduler
from tests.celery_helpers import REPO, running_beat, running_worker, wait_for
from tests.optional_services import DEFAULT_REDIS_URL, redis_broker_url

HOOKS = "tests.celery_worker_hooks"
TASK = "core.tasks.poll_batches"
LOCK_MESSAGE = "Another Celery beat is already running"


def process_env(tmp_path: Path, database_url: str, broker_url: str | None = None, **extra: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RECRUIT_DATA_DIR": str(tmp_path / "data"),
        "MOCK_BATCH_DIR": str(tmp_path / "mock"),
        "BATCH_WORK_DIR": str(tmp_path / "work"),
        "USE_MOCK_BATCH": "true",
        "MOCK_BATCH_FAILURE_RATE": "0",
        "LOG_LEVEL": "INFO",
        "RECRUIT_TEST_HOLD_DIR": str(tmp_path / "hold"),
        **extra,
    }
    for name in ("CELERY_BROKER_URL", "CELERY_TASK_SOFT_TIME_LIMIT", "CELERY_TASK_TIME_LIMIT",
                 "CELERY_VISIBILITY_TIMEOUT"):
        if name not in extra:
            env.pop(name, None)
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    (tmp_path / "hold").mkdir(exist_ok=True)
    return env


def filesystem_broker_options(tmp_path: Path) -> dict:
    """The folders recruit.settings gives the filesystem broker under RECRUIT_DATA_DIR=tmp_path/data."""
    root = tmp_path / "data" / "celery-broker"
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
        "store_processed": False,
    }


def send(tmp_path: Path, broker_url: str | None, queue: str) -> str:
    """Sends the task, as a manual trigger would (no expiry), to ``queue``; returns its id."""
    if broker_url:
        client = Celery("delivery-test", broker=broker_url)
    else:
        client = Celery("delivery-test", broker="filesystem://")
        client.conf.broker_transport_options = filesystem_broker_options(tmp_path)
    try:
        return client.send_task(TASK, queue=queue).id
    finally:
        client.close()


def log_has(path: Path, text: str):
    return lambda: path.exists() and text in path.read_text()


def ends(tmp_path: Path, task_id: str) -> list[str]:
    path = tmp_path / "hold" / f"{task_id}.ends"
    return path.read_text().splitlines() if path.exists() else []


def succeeded(tmp_path: Path, task_id: str):
    return lambda: any(line.startswith("SUCCESS") for line in ends(tmp_path, task_id))


def worker_options(queue: str, name: str) -> tuple[str, ...]:
    return ("-Q", queue, "-I", HOOKS, "-n", f"{name}-{queue}@%h", "--concurrency=1")


@pytest.fixture
def queue():
    """A queue name of this test's own; what kombu keeps about it in Redis is removed afterwards."""
    name = f"delivery-test-{uuid.uuid4().hex[:12]}"
    yield name
    url = os.environ.get("CELERY_TEST_BROKER_URL") or DEFAULT_REDIS_URL
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
        for tag, value in client.hscan_iter("unacked"):  # left only if a test failed before the redelivery
            _message, exchange, routing_key = json.loads(value)
            if name in (exchange, routing_key):
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    except Exception:  # noqa: BLE001 - no Redis (a filesystem test): nothing to clean
        pass


# --- delivery ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_is_killed_is_delivered_again_to_a_new_worker(tmp_path, test_database_url, queue):
    """acks_late on Redis: the message stays unacknowledged while the task runs; SIGKILL the whole
    worker (main process and pool) and, once the visibility timeout has passed, a new worker runs it."""
    broker_url = redis_broker_url()
    visibility = 6
    env = process_env(
        tmp_path, test_database_url, broker_url,
        CELERY_TASK_SOFT_TIME_LIMIT="4", CELERY_TASK_TIME_LIMIT="5", CELERY_VISIBILITY_TIMEOUT=str(visibility),
    )
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with running_worker(env, first_log, *worker_options(queue, "first"), pool="prefork") as first:
        assert wait_for(log_has(first_log, "ready."), 60, first), first_log.read_text()[-3000:]
        task_id = send(tmp_path, broker_url, queue)
        runs = tmp_path / "hold" / f"{task_id}.runs"
        assert wait_for(runs.exists, 20, first), first_log.read_text()[-3000:]
        taken_at = time.monotonic()
        os.killpg(first.pid, signal.SIGKILL)  # no warm shutdown: nothing gets to requeue or acknowledge it
        first.wait(10)
    assert ends(tmp_path, task_id) == []

    # The new worker sweeps Redis for messages unacknowledged longer than the timeout as it starts.
    time.sleep(max(0.0, taken_at + visibility + 0.5 - time.monotonic()))
    with running_worker(env, second_log, *worker_options(queue, "second"), pool="prefork") as second:
        assert wait_for(succeeded(tmp_path, task_id), 40, second), second_log.read_text()[-3000:]
    first_pid, second_pid = runs.read_text().split()
    assert first_pid != second_pid
    assert ends(tmp_path, task_id) == ["SUCCESS 0"]
    assert task_id in second_log.read_text()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_a_task_whose_pool_process_dies_is_requeued_at_once(broker, tmp_path, test_database_url, queue):
    """reject_on_worker_lost: the worker survives its pool process (an OOM kill, say) and requeues the
    task at once, without waiting for a visibility timeout (the default hour is in force here)."""
    broker_url = redis_broker_url() if broker == "redis" else None
    env = process_env(tmp_path, test_database_url, broker_url)
    log = tmp_path / "worker.log"
    with running_worker(env, log, *worker_options(queue, "worker"), pool="prefork") as worker:
        assert wait_for(log_has(log, "ready."), 60, worker), log.read_text()[-3000:]
        task_id = send(tmp_path, broker_url, queue)
        runs = tmp_path / "hold" / f"{task_id}.runs"
        assert wait_for(runs.exists, 20, worker), log.read_text()[-3000:]
        os.kill(int(runs.read_text().split()[0]), signal.SIGKILL)
        assert wait_for(succeeded(tmp_path, task_id), 40, worker), log.read_text()[-3000:]
        assert worker.poll() is None
    first_pid, second_pid = runs.read_text().split()
    assert first_pid != second_pid
    assert ends(tmp_path, task_id)[-1] == "SUCCESS 0"
    assert "WorkerLostError" in log.read_text()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_over_its_hard_time_limit_is_killed_and_not_delivered_again(tmp_path, test_database_url, queue):
    """The time limits come from the environment and hold in the prefork pool; a run killed by the hard
    limit is acknowledged as failed (not requeued as a lost worker would be): the next tick starts anew."""
    broker_url = redis_broker_url()
    env = process_env(tmp_path, test_database_url, broker_url, CELERY_TASK_SOFT_TIME_LIMIT="1",
                      CELERY_TASK_TIME_LIMIT="2")
    log = tmp_path / "worker.log"
    with running_worker(env, log, *worker_options(queue, "worker"), pool="prefork") as worker:
        assert wait_for(log_has(log, "ready."), 60, worker), log.read_text()[-3000:]
        task_id = send(tmp_path, broker_url, queue)
        assert wait_for(log_has(log, "Hard time limit (2s) exceeded"), 30, worker), log.read_text()[-3000:]
        time.sleep(3)  # a requeue would be immediate
        assert worker.poll() is None
    output = log.read_text()
    assert "Soft time limit (1s) exceeded" in output
    assert len((tmp_path / "hold" / f"{task_id}.runs").read_text().split()) == 1, output[-3000:]
    assert not succeeded(tmp_path, task_id)()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_filesystem_broker_keeps_no_copy_of_a_running_task(tmp_path, test_database_url, queue):
    """Why the settings call the filesystem broker a development broker: kombu deletes the message file
    as the worker reads it, so acks_late has nothing to hold back, and a task whose worker is killed
    is gone for good."""
    env = process_env(tmp_path, test_database_url)
    broker_dir = tmp_path / "data" / "celery-broker"
    log = tmp_path / "worker.log"
    with running_worker(env, log, *worker_options(queue, "first")) as worker:
        assert wait_for(log_has(log, "ready."), 60, worker), log.read_text()[-3000:]
        task_id = send(tmp_path, None, queue)
        runs = tmp_path / "hold" / f"{task_id}.runs"
        assert wait_for(runs.exists, 20, worker), log.read_text()[-3000:]
        stored = [path for path in broker_dir.rglob("*") if path.is_file() and task_id in path.read_text()]
        assert stored == []  # the task is running and unacknowledged, yet the broker holds nothing
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    second_log = tmp_path / "second.log"
    with running_worker(env, second_log, *worker_options(queue, "second")) as second:
        assert wait_for(log_has(second_log, "ready."), 60, second), second_log.read_text()[-3000:]
        time.sleep(3)
    assert len(runs.read_text().split()) == 1
    assert task_id not in second_log.read_text()


# --- one beat ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_second_beat_refuses_to_start_while_the_first_holds_the_lock(tmp_path, test_database_url):
    env = process_env(tmp_path, test_database_url)
    beat_command = [sys.executable, "-m", "celery", "-A", "recruit", "beat", "--loglevel=INFO"]
    first_log = tmp_path / "first-beat.log"
    with running_beat(env, first_log, "-s", str(tmp_path / "first-schedule")) as first:
        assert wait_for(log_has(first_log, "holding the single-beat lock"), 60, first), first_log.read_text()

        second = subprocess.run(
            [*beat_command, "-s", str(tmp_path / "second-schedule")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )
        output = second.stdout + second.stderr
        assert second.returncode == 1, output
        assert LOCK_MESSAGE in output and "recruit celery beat" in output, output  # names the holder
        assert list(tmp_path.glob("second-schedule*")) == []  # refused before opening its schedule

        # A worker started with -B: its embedded beat refuses the same way; the worker itself goes on.
        worker_log = tmp_path / "worker.log"
        with running_worker(env, worker_log, "-B", "-s", str(tmp_path / "worker-schedule")) as worker:
            assert wait_for(log_has(worker_log, LOCK_MESSAGE), 60, worker), worker_log.read_text()[-3000:]
            assert wait_for(log_has(worker_log, "ready."), 30, worker), worker_log.read_text()[-3000:]
            assert worker.poll() is None
        assert first.poll() is None

    # The first beat stopped: its session ended, so the lock is free for the next one.
    third_log = tmp_path / "third-beat.log"
    with running_beat(env, third_log, "-s", str(tmp_path / "third-schedule")) as third:
        assert wait_for(log_has(third_log, "holding the single-beat lock"), 60, third), third_log.read_text()


def _end_beat_lock_sessions() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name LIKE %s",
            [BeatLock.APPLICATION_NAME + "%"],
        )


@pytest.mark.django_db(transaction=True)
def test_a_running_beat_that_lost_its_lock_takes_it_again_or_stops(tmp_path, monkeypatch):
    from recruit.celery import app

    class CheckingEveryTick(SingleBeatScheduler):
        lock_check_interval = 0

    scheduler = CheckingEveryTick(app=app, schedule_filename=str(tmp_path / "schedule"))
    other = BeatLock()
    try:
        with pytest.raises(BeatAlreadyRunning):
            other.acquire()

        # The database dropped the session (a restart, a network cut): the lock went with it; take it again.
        _end_beat_lock_sessions()
        assert scheduler._lock_ok() and scheduler.beat_lock.held()
        with pytest.raises(BeatAlreadyRunning):
            other.acquire()

        # While the database cannot be reached, beat sends nothing, and tries again after a while.
        ticks = []
        monkeypatch.setattr(PersistentScheduler, "tick", lambda self, *a, **k: ticks.append(1) or 0)
        assert scheduler.tick() == 0 and ticks == [1]
        _end_beat_lock_sessions()
        unreachable = OSError("connection refused")
        monkeypatch.setattr(scheduler.beat_lock, "_connect", lambda: (_ for _ in ()).throw(unreachable))
        assert scheduler.tick() == scheduler.lock_retry_interval
        assert scheduler.tick() == scheduler.lock_retry_interval  # not due to retry yet: still nothing sent
        assert ticks == [1]
        monkeypatch.undo()
        monkeypatch.setattr(PersistentScheduler, "tick", lambda self, *a, **k: ticks.append(1) or 0)

        # Another beat took the lock meanwhile: this one stops with an error.
        other.acquire()
        scheduler._next_lock_check = 0
        with pytest.raises(BeatLockLost):
            scheduler.tick()
        assert ticks == [1]
    finally:
        scheduler.close()
        other.release()
    fresh = BeatLock()
    fresh.acquire()  # closing the scheduler released its lock
    fresh.release()


# --- settings -----------------------------------------------------------------------------------------


def settings_in_subprocess(**env: str) -> subprocess.CompletedProcess:
    """recruit.settings and the Celery app as a fresh process sees them with ``env``."""
    code = (
        "import json, django; django.setup()\n"
        "from django.conf import settings\n"
        "from recruit.celery import app\n"
        "import core.tasks as tasks\n"
        "print(json.dumps({'soft': app.conf.task_soft_time_limit, 'hard': app.conf.task_time_limit,\n"
        "  'transport': app.conf.broker_transport_options, 'scheduler': app.conf.beat_scheduler,\n"
        "  'schedule': settings.CELERY_BEAT_SCHEDULE,\n"
        "  'tasks': {n: [t.acks_late, t.reject_on_worker_lost] for n, t in app.tasks.items()\n"
        "            if n.startswith('core.tasks.')}}))\n"
    )
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recruit.settings", **env}
    for name in ("CELERY_TASK_SOFT_TIME_LIMIT", "CELERY_TASK_TIME_LIMIT", "CELERY_VISIBILITY_TIMEOUT",
                 "CELERY_BROKER_URL", "CELERY_POLL_INTERVAL", "CELERY_SUBMIT_INTERVAL", "CELERY_MATCH_INTERVAL"):
        if name not in env:
            full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_time_limits_visibility_timeout_and_expiring_beat_ticks_are_configured():
    result = settings_in_subprocess(CELERY_BROKER_URL="redis://redis:6379/0", CELERY_POLL_INTERVAL="20")
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0 < conf["soft"] < conf["hard"]
    assert conf["transport"]["visibility_timeout"] > conf["hard"]
    assert conf["scheduler"] == "recruit.celery:SingleBeatScheduler"
    assert set(conf["schedule"]) == {"submit-batches", "poll-batches", "match-cvs", "build-cv-index"}
    for name, entry in conf["schedule"].items():
        assert entry["options"]["expires"] == entry["schedule"], name  # a missed tick is dropped, not queued
    assert conf["schedule"]["poll-batches"]["options"]["expires"] == 20
    assert conf["tasks"] == {name: [True, True] for name in
                             ("core.tasks.submit_batches", "core.tasks.poll_batches", "core.tasks.match_cvs",
                              "core.tasks.build_cv_index")}

    result = settings_in_subprocess(
        CELERY_BROKER_URL="redis://redis:6379/0", CELERY_TASK_SOFT_TIME_LIMIT="50", CELERY_TASK_TIME_LIMIT="60"
    )
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout.strip().splitlines()[-1])
    assert (conf["soft"], conf["hard"], conf["transport"]["visibility_timeout"]) == (50, 60, 120)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "60", "CELERY_TASK_TIME_LIMIT": "60"}, "must be below"),
        ({"CELERY_TASK_TIME_LIMIT": "600", "CELERY_VISIBILITY_TIMEOUT": "600"}, "must exceed"),
        ({"CELERY_TASK_TIME_LIMIT": "soon"}, "not a valid integer"),
    ],
)
def test_inconsistent_time_limits_stop_the_process(env, message):
    result = settings_in_subprocess(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr, result.stderr[-2000:]

