"""Celery tasks: thin shells over the workflow's steps.

Every body is idempotent (submission skips locked and queued rows, ingestion is exactly-once per item,
matching picks only stale CVs), so the at-least-once delivery of acks_late is safe: a task delivered
twice, or re-run after a worker died mid-way, leaves the same state as one clean run.
"""

from celery import shared_task

from core.services.batch_service import BatchService
from core.workflow import steps


@shared_task(acks_late=True)
def submit_batches(kind: str | None = None) -> int:
    """Submit the pending rows of one kind, or of every kind in pipeline order; returns batches created."""
    return len(steps.submit(BatchService(), [kind] if kind else None))


@shared_task(acks_late=True)
def poll_batches() -> int:
    """Poll every open batch and ingest the finished ones; returns how many were ingested."""
    return len(steps.poll(BatchService()))


@shared_task(acks_late=True)
def match_cvs() -> int:
    """Match the CVs whose predictions are missing or stale, once job embeddings have settled."""
    matched = steps.match_when_settled()
    return matched.cvs if matched is not None else 0
