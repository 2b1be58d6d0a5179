"""The whole pipeline in one process: submit, poll, ingest, match and explain until nothing is left.

Celery runs the same steps as separate periodic tasks; this loop is for the demo, one-off runs and
tests. Each pass runs every step in pipeline order, polling after each submission, so with the mock's
zero latency one pass per stage transition is enough; with real latency ``wait`` sleeps between
passes that changed nothing, until a batch can have finished (core.workflow.pacing), at most
``poll_interval`` seconds.

Matching runs in PostgreSQL, on ``MATCH_WORKERS`` connections, while this process would only wait; so,
as Celery's separate tasks would, a batch of the kinds after matching (the explanations) is submitted
for the CVs already matched each time ``OVERLAP_MIN_REQUESTS`` of them are waiting (batches worth
sending, not one per matched chunk), and the open batches are polled meanwhile. Each stage's rules and
versions make that safe (a CV is matched once per run, and a prediction a later match changes gets its
explanation redone).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

from core.db_threads import ConnectionThread
from core.matching.matcher import MatchReport, cvs_needing_match
from core.selectors.batches import open_batches
from core.selectors.progress import pending_at_least, pending_counts
from core.services.batch_service import BatchService
from core.workflow import steps
from core.workflow.pacing import seconds_until_next_poll
from core.workflow.steps import PipelineEvent

OVERLAP_MIN_REQUESTS = 5000
OVERLAP_CHECK_SECONDS = 0.25


@dataclass
class RunResult:
    passes: int = 0
    batches_submitted: int = 0
    batches_ingested: int = 0
    cvs_matched: int = 0
    finished: bool = False  # False: stopped with batches still in flight (run without wait)

    def progress_mark(self) -> tuple[int, int, int]:
        return self.batches_submitted, self.batches_ingested, self.cvs_matched


def work_remaining() -> bool:
    return any(pending_counts().values()) or open_batches().exists() or cvs_needing_match().exists()


def run_pipeline(
    service: BatchService | None = None,
    wait: bool = False,
    poll_interval: float = 5.0,
    max_passes: int = 1000,
    on_event: Callable[[PipelineEvent], None] | None = None,
) -> RunResult:
    service = service or BatchService()
    result = RunResult()
    emit = on_event or (lambda event: None)
    steps.reconcile(service)
    while result.passes < max_passes:
        result.passes += 1
        before = result.progress_mark()
        _one_pass(service, result, emit)
        if not work_remaining():
            result.finished = True
            break
        if result.progress_mark() == before:
            # Only batches in flight (or rows another worker holds) remain: wait for them, or stop here.
            if not wait:
                break
            seconds = seconds_until_next_poll(poll_interval)
            emit(PipelineEvent("wait", None, {"seconds": seconds, "open_batches": open_batches().count()}))
            time.sleep(seconds)
    return result


def _one_pass(service: BatchService, result: RunResult, emit) -> None:
    for kind in steps.kinds_before_matching():
        _submit_and_poll(kind, service, result, emit)
    matched = _match_while_submitting_after(service, result, emit)
    if matched is not None and matched.cvs:
        result.cvs_matched += matched.cvs
        emit(PipelineEvent("match", None, {"cvs": matched.cvs, "predictions": matched.predictions}))
    for kind in steps.kinds_after_matching():
        _submit_and_poll(kind, service, result, emit)
    built = steps.build_cv_index_after_load()
    if built is not None:
        emit(PipelineEvent("index", None, {"how": built}))


def _match_while_submitting_after(service: BatchService, result: RunResult, emit) -> MatchReport | None:
    """``steps.match_when_settled()`` in a thread of its own, while this one submits a batch of each kind
    after matching whenever ``OVERLAP_MIN_REQUESTS`` of its rows are waiting, and polls (see the
    module's docstring). Should this thread fail or be interrupted, the match stops after its chunk in
    flight. Inside a transaction other connections would not see this one's rows, so there it simply
    matches."""
    if connection.in_atomic_block:
        return steps.match_when_settled()
    stop = threading.Event()
    match = ConnectionThread(lambda: steps.match_when_settled(stop=stop), name="match")
    try:
        while match.is_alive():
            match.join(OVERLAP_CHECK_SECONDS)
            for kind in steps.kinds_after_matching():
                if match.is_alive() and pending_at_least(kind, OVERLAP_MIN_REQUESTS):
                    _submit_and_poll(kind, service, result, emit, max_batches=1)
    except BaseException:
        stop.set()
        match.join()
        raise
    return match.result()


def _submit_and_poll(kind: str, service: BatchService, result: RunResult, emit, max_batches: int | None = None) -> None:
    batches = steps.submit(service, [kind], max_batches=max_batches)
    result.batches_submitted += len(batches)
    if batches:
        emit(PipelineEvent("submit", kind, {"batches": len(batches), "requests": sum(b.total for b in batches)}))
    for batch, report in steps.poll(service):
        result.batches_ingested += 1
        emit(PipelineEvent("ingest", batch.kind, {"batch": batch, "report": report}))
