"""Reconciliation: provider batches and uploads of ours that the database does not know.

Submission uploads a file and creates a batch at the provider, then commits the BatchJob and the rows'
move to queued. A crash or a database error between the two leaves the rows pending (they will be sent
again) and the provider batch running, paid for twice. Every submission carries an idempotency key,
in the uploaded file's name and the batch's metadata; reconciliation lists the provider's recent
batches and batch files, and cancels the batches (and deletes the files) whose key no BatchJob has.

A grace period (RECONCILE_GRACE_SECONDS) leaves alone what a submission still committing has just
made; only the completion window's worth of batches is listed, since older ones have ended anyway.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import openai
from django.conf import settings

from core.batches.submit import SUBMISSION_FILE_PREFIX, SUBMISSION_KEY
from core.models import BatchJob
from core.services.batch_service import BatchService

logger = logging.getLogger("recruit.batches")

WINDOW_SECONDS = 25 * 3600  # the 24 h completion window, and an hour's slack
ENDED = {"completed", "failed", "expired", "cancelled", "cancelling"}


@dataclass
class ReconcileReport:
    cancelled: list[str] = field(default_factory=list)  # provider batch ids
    files_deleted: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{len(self.cancelled)} orphaned batch(es) cancelled, {len(self.files_deleted)} orphaned file(s) deleted"


def reconcile(service: BatchService, grace_seconds: float | None = None) -> ReconcileReport:
    grace = settings.RECONCILE_GRACE_SECONDS if grace_seconds is None else grace_seconds
    now = time.time()
    settled_before, listed_since = now - grace, now - WINDOW_SECONDS
    report = ReconcileReport()
    ours = [
        remote
        for remote in _recent(service.list_batches(limit=100), listed_since)
        if SUBMISSION_KEY in (remote.metadata or {}) and remote.created_at <= settled_before
    ]
    recorded = BatchJob.objects.filter(provider_batch_id__in=[remote.id for remote in ours])
    known = set(recorded.values_list("provider_batch_id", flat=True))
    for remote in ours:
        if remote.id in known or remote.status in ENDED:
            continue  # recorded, or nothing left to stop (its upload, if still there, is deleted below)
        try:
            service.cancel_batch(remote.id)
        except (openai.BadRequestError, openai.ConflictError, openai.NotFoundError) as exc:
            # A listed status can be older than the batch: it has ended meanwhile.
            logger.info("event=orphan_batch_not_cancelled provider_batch_id=%s reason=%s", remote.id, exc)
            continue
        report.cancelled.append(remote.id)
        logger.warning(
            "event=orphan_batch_cancelled provider_batch_id=%s status=%s submission=%s",
            remote.id,
            remote.status,
            remote.metadata[SUBMISSION_KEY],
        )
    uploads = [
        uploaded
        for uploaded in _recent(service.list_batch_files(), listed_since)
        if (uploaded.filename or "").startswith(SUBMISSION_FILE_PREFIX) and uploaded.created_at <= settled_before
    ]
    inputs = BatchJob.objects.filter(input_file_id__in=[uploaded.id for uploaded in uploads])
    used = set(inputs.values_list("input_file_id", flat=True))
    for uploaded in uploads:
        if uploaded.id in used:
            continue
        try:
            service.delete_file(uploaded.id)
        except openai.NotFoundError:
            continue  # deleted meanwhile
        report.files_deleted.append(uploaded.id)
        logger.warning("event=orphan_file_deleted file_id=%s filename=%s", uploaded.id, uploaded.filename)
    return report


def _recent(listing, since: float):
    """A newest-first listing up to the first item older than ``since`` (the rest are older still)."""
    for item in listing:
        if item.created_at < since:
            return
        yield item
