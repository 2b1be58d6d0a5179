"""Submitting pending work: rows become request lines, a file, a provider batch and BatchItems.

Everything happens in one transaction per batch. The rows are taken with FOR UPDATE SKIP LOCKED, so
a second submitter running at the same time takes other rows or none; the BatchJob, its BatchItems
and the rows' move to queued commit together, after the provider accepted the batch. If writing,
uploading or creating fails, the transaction rolls back and the rows are still pending.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import openai
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.batches.bulk_sql import update_ids
from core.batches.costs import batch_cost
from core.batches.events import log_batch_event
from core.batches.kinds import BatchKindSpec
from core.batches.limits import BatchLimits, BatchPlan
from core.batches.queue import queue_full_wait
from core.batches.registry import get_kind
from core.models import BatchJob, ItemStatus
from core.services.batch_service import BatchService

logger = logging.getLogger(__name__)

ROW_FETCH_CHUNK = 2000
SUBMISSION_KEY = "submission"  # the metadata key of the idempotency key
SUBMISSION_FILE_PREFIX = "recruit-"
QUEUE_LOCK_NAMESPACE = 0x5EC1  # first key of pg_advisory_xact_lock(int, int): "a model's token budget"


def submit_pending(
    kind: str,
    service: BatchService | None = None,
    limits: BatchLimits | None = None,
    max_batches: int | None = None,
) -> list[BatchJob]:
    """Submit every pending row of ``kind``, in as many batches as the limits require (at most
    ``max_batches``: a caller submitting while rows keep coming takes one batch now, the rest later). Each
    batch is cut to what the batches in flight leave of the token budget, and nothing goes while the
    organisation's queue for the kind's model is full (core.batches.queue)."""
    spec = get_kind(kind)
    service = service or BatchService()
    wait = queue_full_wait(spec.model_name())
    if wait is not None:
        logger.info("event=submission_held kind=%s reason=%s", kind, wait)
        return []
    submitted = []
    while max_batches is None or len(submitted) < max_batches:
        batch = submit_one_batch(spec, service, limits)
        if batch is None:
            break
        submitted.append(batch)
    return submitted


def submit_one_batch(spec: BatchKindSpec, service: BatchService, limits: BatchLimits | None = None) -> BatchJob | None:
    # The submission's idempotency key names the uploaded file and is in the batch's metadata, so that
    # reconciliation (core.batches.reconcile) can tell our uploads and batches from anyone else's.
    key = uuid.uuid4().hex
    work_dir = Path(settings.BATCH_WORK_DIR)
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"{SUBMISSION_FILE_PREFIX}{spec.kind}-{key}.jsonl"
    try:
        with transaction.atomic():
            return _submit_in_transaction(spec, service, limits, path, key)
    finally:
        path.unlink(missing_ok=True)


def _submit_in_transaction(
    spec: BatchKindSpec, service: BatchService, limits: BatchLimits | None, path: Path, key: str
) -> BatchJob | None:
    limits = limits or _limits_in_transaction(spec)
    if limits is None:
        return None
    rows = spec.pending().select_for_update(skip_locked=True, of=("self",))
    plan = BatchPlan(limits)
    taken: list[tuple[int, str, int, int]] = []  # (row id, custom_id, attempt number, input version)

    def requests():
        for row in rows.iterator(chunk_size=ROW_FETCH_CHUNK):
            custom_id = spec.custom_id(row)
            request = {"custom_id": custom_id, "method": "POST", "url": spec.endpoint, "body": spec.build_body(row)}
            if not plan.admit(spec.endpoint, request["body"], len(orjson.dumps(request)) + 1):
                return
            state = spec.state
            taken.append((row.pk, custom_id, getattr(row, state.attempts) + 1, getattr(row, state.version)))
            yield request

    service.write_batch_file(requests(), path, count_tokens=False)  # the plan counts them
    if not taken:
        return None
    model = spec.model_name()
    uploaded = service.upload_file(path)
    metadata = {"kind": spec.kind, SUBMISSION_KEY: key, "requests": str(len(taken))}
    try:
        remote = service.create_batch(uploaded.id, spec.endpoint, metadata=metadata)
    except Exception:
        _delete_orphan_file(service, uploaded.id)
        raise
    batch = BatchJob.objects.create(
        kind=spec.kind,
        backend=service.backend,
        endpoint=spec.endpoint,
        model=model,
        provider_batch_id=remote.id,
        input_file_id=uploaded.id,
        status=remote.status,
        total=len(taken),
        metadata=metadata,
        input_bytes=plan.bytes,
        estimated_input_tokens=plan.tokens,
        estimated_cost=batch_cost(model, plan.tokens, 0),
        submitted_at=timezone.now(),
    )
    _insert_items(batch, spec, taken)
    state = spec.state
    update_ids(
        spec.model._meta.db_table,
        f"{state.status} = %s, {state.attempts} = {state.attempts} + 1",
        [state.queued],
        [row_id for row_id, *_ in taken],
    )
    log_batch_event(
        "submitted",
        batch,
        requests=len(taken),
        bytes=plan.bytes,
        tokens=plan.tokens,
        cut_by=plan.refused_reason or "no more pending work",
    )
    return batch


def _limits_in_transaction(spec: BatchKindSpec) -> BatchLimits | None:
    """The kind's limits, with the token budget's room reckoned under a lock per model held until this
    submission commits: two submitters cannot both take the same room. None while our batches in flight
    hold the whole budget."""
    model = spec.model_name()
    if settings.BATCH_ENQUEUED_TOKEN_BUDGET is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [QUEUE_LOCK_NAMESPACE, model])
    limits = BatchLimits.for_kind(spec.kind, model)
    if limits.token_room is not None and limits.token_room <= 0:
        logger.info("event=submission_held kind=%s reason=our batches in flight hold the token budget", spec.kind)
        return None
    return limits


def _delete_orphan_file(service: BatchService, file_id: str) -> None:
    """The batch was refused: the uploaded file would only sit at the provider, so remove it."""
    try:
        service.delete_file(file_id)
    except (openai.OpenAIError, OSError) as exc:
        logger.warning("event=orphan_file_not_deleted file_id=%s error=%s", file_id, exc)


def _insert_items(batch: BatchJob, spec: BatchKindSpec, taken: list[tuple[int, str, int, int]]) -> None:
    """COPY the BatchItems in: one round trip for up to 50,000 rows."""
    now = timezone.now()
    column = f"{spec.item_field}_id"
    sql = (
        f"COPY core_batchitem (batch_id, custom_id, {column}, status, attempt, input_version, error_code,"
        " error_message, created_at) FROM STDIN"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row_id, custom_id, attempt, version in taken:
            copy.write_row((batch.pk, custom_id, row_id, ItemStatus.QUEUED, attempt, version, "", "", now))
