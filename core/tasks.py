"""Celery tasks: thin shells over the pipeline services.

Every body is idempotent (submission skips locked and queued rows, ingestion is exactly-once per item,
matching picks only stale CVs), so the at-least-once delivery of acks_late is safe: a task delivered
twice, or re-run after a worker died mid-way, leaves the same state as one clean run.
"""

from celery import shared_task

from core.matching.batch_matcher import match_pending_cvs
from core.pipeline.poll import poll_open_batches
from core.pipeline.submit import submit_pending


@shared_task(acks_late=True)
def submit_batches(kind: str) -> int:
    """Submit the pending rows of one kind; returns the number of batches created."""
    return len(submit_pending(kind))


@shared_task(acks_late=True)
def poll_batches() -> int:
    """Poll every open batch and ingest the finished ones; returns how many were ingested."""
    return sum(1 for _, report in poll_open_batches() if report is not None and not report.skipped)


@shared_task(acks_late=True)
def match_cvs() -> int:
    """Match the CVs whose predictions are missing or stale; returns how many were matched."""
    return match_pending_cvs().cvs
