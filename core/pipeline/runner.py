"""The whole pipeline in one process: submit, poll, ingest, match and explain until nothing is left.

Celery runs the same steps as separate periodic tasks; this loop is for the demo, one-off runs and
tests. Each pass does every stage in dependency order, so with the mock's zero latency one pass per
stage transition is enough; with real latency ``wait`` sleeps between polls. Matching waits until no
job embedding is outstanding, since each newly embedded job would send every CV to be matched again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.matching.batch_matcher import cvs_needing_match, match_pending_cvs
from core.models import BatchKind, EmbeddingStatus, Job
from core.pipeline.poll import poll_open_batches
from core.pipeline.selectors import open_batches, pending_counts
from core.pipeline.submit import submit_pending
from core.services.batch_service import BatchService

STAGES = (
    ("submit", BatchKind.CV_PARSE),
    ("submit", BatchKind.JOB_EMBEDDING),
    ("poll", None),
    ("submit", BatchKind.CV_EMBEDDING),
    ("poll", None),
    ("match", None),
    ("submit", BatchKind.EXPLANATION),
    ("poll", None),
)


@dataclass
class PipelineEvent:
    stage: str
    kind: str | None
    detail: dict = field(default_factory=dict)


@dataclass
class RunResult:
    passes: int = 0
    batches_submitted: int = 0
    batches_ingested: int = 0
    cvs_matched: int = 0
    finished: bool = False  # False: stopped with batches still in flight (run without wait)


def _job_embeddings_outstanding() -> bool:
    return Job.objects.filter(
        is_active=True, embedding_status__in=[EmbeddingStatus.PENDING, EmbeddingStatus.QUEUED]
    ).exists()


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
    while result.passes < max_passes:
        result.passes += 1
        before = (result.batches_submitted, result.batches_ingested, result.cvs_matched)
        for stage, kind in STAGES:
            _run_stage(stage, kind, service, result, emit)
        if not work_remaining():
            result.finished = True
            break
        progressed = (result.batches_submitted, result.batches_ingested, result.cvs_matched) != before
        if not progressed:
            # Only batches in flight (or rows another worker holds) remain: wait for them, or stop here.
            if not wait:
                break
            emit(PipelineEvent("wait", None, {"seconds": poll_interval, "open_batches": open_batches().count()}))
            time.sleep(poll_interval)
    return result


def _run_stage(stage: str, kind: str | None, service: BatchService, result: RunResult, emit) -> None:
    if stage == "submit":
        batches = submit_pending(kind, service)
        result.batches_submitted += len(batches)
        if batches:
            emit(PipelineEvent("submit", kind, {"batches": len(batches), "requests": sum(b.total for b in batches)}))
    elif stage == "poll":
        for batch, report in poll_open_batches(service):
            if report is not None and not report.skipped:
                result.batches_ingested += 1
                emit(PipelineEvent("ingest", batch.kind, {"batch": batch.provider_batch_id, "report": report}))
    else:
        if _job_embeddings_outstanding():
            # Matching now would be redone for every CV as soon as the last jobs are embedded.
            return
        matched = match_pending_cvs()
        result.cvs_matched += matched.cvs
        if matched.cvs:
            emit(PipelineEvent("match", None, {"cvs": matched.cvs, "predictions": matched.predictions}))
