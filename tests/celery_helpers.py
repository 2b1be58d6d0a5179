"""Real `celery worker` and `celery beat` processes for tests, stopped (with their children) when the block ends."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def _running(command: list[str], env: dict, log_path: Path):
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):  # the test may have killed it already
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@contextmanager
def running_worker(env: dict, log_path: Path, *options: str, pool: str = "solo"):
    """Yields the worker's Popen; its output goes to ``log_path``."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "recruit",
        "worker",
        f"--pool={pool}",
        "--without-mingle",
        "--without-gossip",
        "--loglevel=INFO",
        *options,
    ]
    with _running(command, env, log_path) as worker:
        yield worker


@contextmanager
def running_beat(env: dict, log_path: Path, *options: str):
    """Yields a `celery beat` Popen; its output goes to ``log_path``."""
    command = [sys.executable, "-m", "celery", "-A", "recruit", "beat", "--loglevel=INFO", *options]
    with _running(command, env, log_path) as beat:
        yield beat


def wait_for(predicate, timeout: float, process: subprocess.Popen | None = None, interval: float = 0.1) -> bool:
    """Polls ``predicate`` until it is true (True), the time is up or ``process`` has exited (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process is not None and process.poll() is not None:
            return bool(predicate())
        time.sleep(interval)
    return bool(predicate())
