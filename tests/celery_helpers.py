"""A real `celery worker` process for tests, stopped (with its beat and pool) when the block ends."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def running_worker(env: dict, log_path: Path, *options: str):
    """Yields the worker's Popen; its output goes to ``log_path``."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "recruit",
        "worker",
        "--pool=solo",
        "--without-mingle",
        "--without-gossip",
        "--loglevel=INFO",
        *options,
    ]
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield worker
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
