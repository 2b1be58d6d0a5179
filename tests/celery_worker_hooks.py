"""Loaded into a test worker with ``-I tests.celery_worker_hooks``: holds the first run of each task.

With RECRUIT_TEST_HOLD_DIR set, a task's first run appends "<pid>" to ``<dir>/<task id>.runs`` and
then sleeps until the test kills the process running it; every later run (a redelivery) appends its
line and goes on into the real task body; ``<dir>/<task id>.ends`` gets a line "<state> <return value>"
for each task_postrun (the worker's main process also sends one, with state None, when a time limit
kills a run). The task is a real one from core.tasks, with its own options: only its first run is held.
"""

import os
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun, task_prerun

HOLD_DIR = os.environ.get("RECRUIT_TEST_HOLD_DIR")


@task_prerun.connect
def _hold_the_first_run(task_id=None, task=None, **_kwargs):
    if not HOLD_DIR:
        return
    runs = Path(HOLD_DIR) / f"{task_id}.runs"
    first = not runs.exists()
    with runs.open("a") as log:
        log.write(f"{os.getpid()}\n")
    if first:
        deadline = time.monotonic() + 600  # the test, or the hard time limit, kills this process long before
        while time.monotonic() < deadline:
            try:
                time.sleep(deadline - time.monotonic())
            except SoftTimeLimitExceeded:
                continue  # held until killed: only the hard limit ends this run


@task_postrun.connect
def _record_the_end(task_id=None, state=None, retval=None, **_kwargs):
    if HOLD_DIR:
        with (Path(HOLD_DIR) / f"{task_id}.ends").open("a") as log:
            log.write(f"{state} {retval!r}\n")
