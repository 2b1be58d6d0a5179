"""Celery tasks: thin shells over the workflow's steps.

Every body is idempotent (submission skips locked and queued rows, ingestion is exactly-once per item,
matching picks only stale CVs), so the at-least-once delivery of acks_late is safe: a task delivered
twice, or re-run after a worker died mid-way, leaves the same state as one clean run.

Every task is acknowledged after its body returns (acks_late) and requeued when the pool process
running it dies (reject_on_worker_lost); on Redis, a task whose whole worker died is delivered again
once the broker's visibility timeout has passed. Time limits (CELERY_TASK_SOFT_TIME_LIMIT and
CELERY_TASK_TIME_LIMIT) apply to every task, and beat's messages expire when the next tick is due:
both are set in recruit/settings.py, next to the broker they depend on.
"""

from celery import shared_task

from core.services.batch_service import BatchService
from core.workflow import steps

AT_LEAST_ONCE = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**AT_LEAST_ONCE)
def submit_batches(kind: str | None = None) -> int:
    """Submit the pending rows of one kind, or of every kind in pipeline order; returns batches created."""
    return len(steps.submit(BatchService(), [kind] if kind else None))


@shared_task(**AT_LEAST_ONCE)
def poll_batches() -> int:
    """Poll every open batch and ingest the finished ones; returns how many were ingested."""
    return len(steps.poll(BatchService()))


@shared_task(**AT_LEAST_ONCE)
def match_cvs() -> int:
    """Match the CVs whose predictions are missing or stale, once job embeddings have settled."""
    matched = steps.match_when_settled()
    return matched.cvs if matched is not None else 0


@shared_task(**AT_LEAST_ONCE)
def build_cv_index() -> bool:
    """Build the CV index dropped for a bulk load once the load has ended; whether it was built now."""
    return steps.build_cv_index_after_load() is not None
