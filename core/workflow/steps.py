"""The pipeline's steps and the rules between them, for every driver of the pipeline.

Celery beat runs them as periodic tasks, ``run_pipeline`` in a loop, operators one at a time; each
step is idempotent, so any of them may run twice or side by side. The rules live here so that every
driver follows them: kinds are submitted in pipeline order, and CVs are matched only once no job
embedding is outstanding, since each newly embedded job would send every CV to be matched (and its
top matches explained, which is paid for) again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import openai

from core.batches.ingest import IngestReport
from core.batches.poll import poll_open_batches
from core.batches.reconcile import ReconcileReport
from core.batches.reconcile import reconcile as reconcile_with_provider
from core.batches.registry import all_kinds
from core.batches.submit import submit_pending
from core.matching.matcher import MatchReport, match_pending_cvs
from core.models import BatchJob, EmbeddingStatus, Job
from core.operations import cv_index
from core.services.batch_service import BatchService
from core.services.provider_errors import provider_error_message

logger = logging.getLogger(__name__)


@dataclass
class PipelineEvent:
    """Something a step did, for a driver to show: ``submit``, ``ingest``, ``match``, ``index`` or ``wait``."""

    stage: str
    kind: str | None
    detail: dict = field(default_factory=dict)


def kinds_before_matching() -> list[str]:
    return [name for name, spec in all_kinds().items() if not spec.after_matching]


def kinds_after_matching() -> list[str]:
    return [name for name, spec in all_kinds().items() if spec.after_matching]


def reconcile(service: BatchService) -> ReconcileReport | None:
    """Cancel the provider batches (and delete the uploads) a crashed submission left behind.

    A provider that cannot be reached for it must not stop submission: logged, and tried next time.
    """
    try:
        return reconcile_with_provider(service)
    except openai.APIError as exc:
        logger.error("event=reconcile_failed error=%s", provider_error_message(exc))
        return None


def submit(service: BatchService, kinds: list[str] | None = None, max_batches: int | None = None) -> list[BatchJob]:
    """Submit the pending rows of each kind (by default every kind, after reconciling), in pipeline order,
    at most ``max_batches`` batches a kind.

    A kind the provider refuses does not hold back the others: its error is logged and, once every
    kind had its turn, raised, so the caller (a Celery task, a command) still fails visibly.
    """
    if kinds is None:
        reconcile(service)
    batches: list[BatchJob] = []
    refused: openai.APIError | None = None
    for kind in all_kinds() if kinds is None else kinds:
        try:
            batches += submit_pending(kind, service, max_batches=max_batches)
        except openai.APIError as exc:
            logger.error("event=submit_failed kind=%s error=%s", kind, provider_error_message(exc))
            refused = refused or exc
    if refused is not None:
        raise refused
    return batches


def poll(service: BatchService) -> list[tuple[BatchJob, IngestReport]]:
    """Poll every open batch; returns the batches ingested by this call, with what each applied.

    A bulk load of CV embeddings has the CV index dropped before it is ingested (built again by
    ``build_cv_index_after_load`` once the load has ended).
    """
    cv_index.drop_for_bulk_load()
    polled = poll_open_batches(service)
    return [(batch, report) for batch, report in polled if report is not None and not report.skipped]


def build_cv_index_after_load() -> str | None:
    """Build the CV index a bulk load dropped, once no CV awaits its embedding (see core.operations.cv_index)."""
    return cv_index.build_after_load()


def job_embeddings_outstanding() -> bool:
    return Job.objects.filter(
        is_active=True, embedding_status__in=[EmbeddingStatus.PENDING, EmbeddingStatus.QUEUED]
    ).exists()


def match_when_settled(**options) -> MatchReport | None:
    """Match the CVs that need it, unless job embeddings are still to come (then None: try later)."""
    if job_embeddings_outstanding():
        logger.debug("matching deferred: job embeddings are still pending or in flight")
        return None
    return match_pending_cvs(**options)
