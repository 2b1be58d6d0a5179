"""Ingesting a finished batch's output and error files, exactly once.

The unit of exactly-once is the BatchItem: a chunk of result lines is applied in one transaction that
also moves those items out of ``queued``, and only items still queued are applied. A second ingest, a
retry after a crash mid-file, or a second worker racing this one therefore finds nothing left to do
for the chunks already committed. A session advisory lock per batch keeps two workers from reading the
same files at once, which saves work but is not what makes ingestion correct.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.batches.bulk_sql import binary_params_cursor, update_by_id
from core.batches.costs import batch_cost
from core.batches.events import log_batch_event
from core.batches.kinds import BatchKindSpec, Result
from core.batches.queue import failed_for_a_full_queue
from core.batches.registry import get_kind
from core.batches.work_rows import Outcome, Settled, settle_rows
from core.db_locks import try_session_lock
from core.models import BatchItem, BatchJob, BatchStatus, ItemStatus
from core.services.batch_service import BatchService

logger = logging.getLogger(__name__)

INGEST_CHUNK = 1000
ADVISORY_LOCK_NAMESPACE = 0x5EC0  # first key of pg_advisory_lock(int, int): "batch ingest"

# HTTP statuses worth another try; any other 4xx means the request itself is wrong.
RETRYABLE_STATUS = {408, 409, 429}
NOT_RUN_CODES = {"batch_expired", "batch_cancelled"}


@dataclass
class IngestReport:
    succeeded: int = 0
    failed: int = 0
    not_run: int = 0
    unusable: int = 0  # a 200 response the kind could not use (invalid JSON, wrong vector size, ...)
    superseded: int = 0  # a result for a row that changed after its request was built: not applied
    unknown_lines: int = 0
    retried: int = 0
    given_up: int = 0
    skipped: bool = False
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def applied(self) -> int:
        return self.succeeded + self.failed + self.not_run

    def describe(self) -> str:
        """What the ingest did, as every command, log reader and admin message shows it."""
        superseded = f", {self.superseded} superseded by an edit" if self.superseded else ""
        return (
            f"{self.succeeded} succeeded, {self.failed} failed, {self.not_run} not run{superseded} "
            f"({self.retried} to retry, {self.given_up} given up)"
        )


def _chunks(lines: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ingest_batch(batch: BatchJob, service: BatchService) -> IngestReport:
    """Apply a terminal batch's results; a no-op for a batch already ingested or being ingested."""
    report = IngestReport()
    with try_session_lock(ADVISORY_LOCK_NAMESPACE, batch.pk) as acquired:
        batch.refresh_from_db()
        if not acquired or batch.ingested_at is not None or not batch.is_terminal:
            report.skipped = True
            return report
        spec = get_kind(batch.kind)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                for chunk in _chunks(service.iter_file_lines(file_id), INGEST_CHUNK):
                    _ingest_chunk(batch, spec, chunk, report)
        _finish(batch, spec, report)
    return report


def _classify(line: dict) -> tuple[str, str, str, bool]:
    """(outcome, code, message, retryable) of one result line; outcome is ok, failed or not_run."""
    response = line.get("response") or None
    error = line.get("error") or None
    if response is not None:
        status = int(response.get("status_code") or 0)
        if 200 <= status < 300:
            return "ok", "", "", False
        body_error = (response.get("body") or {}).get("error") or {}
        code = body_error.get("code") or body_error.get("type") or f"http_{status}"
        message = body_error.get("message") or f"HTTP {status}"
        return "failed", str(code), f"HTTP {status}: {message}", status in RETRYABLE_STATUS or status >= 500
    if error is not None:
        code = str(error.get("code") or "error")
        message = str(error.get("message") or code)
        if code in NOT_RUN_CODES:
            return "not_run", code, message, True
        return "failed", code, message, True
    return "failed", "malformed_result_line", "result line has neither response nor error", True


def _ingest_chunk(batch: BatchJob, spec: BatchKindSpec, lines: list[dict], report: IngestReport) -> None:
    by_custom_id = {line.get("custom_id"): line for line in lines}
    now = timezone.now()
    with transaction.atomic():
        # Every item the lines name, locked: the ones still queued are applied, the others were applied
        # by an earlier (or concurrent) ingest, and a custom_id matching none is the provider's error.
        named = _locked_items(batch, spec, "custom_id = ANY(%b::text[])", [[cid for cid in by_custom_id if cid]])
        items = [item for item in named if item.status == ItemStatus.QUEUED]
        unknown = len(by_custom_id) - len(named)
        if unknown:
            report.unknown_lines += unknown
            logger.warning("event=unknown_result_lines batch=%s count=%s", batch.pk, unknown)

        successes: list[Result] = []
        outcomes: list[Outcome] = []
        item_of_row: dict[int, _Item] = {}
        input_tokens = output_tokens = 0
        for item in items:
            line = by_custom_id[item.custom_id]
            row_id = item.row_id
            outcome, code, message, retryable = _classify(line)
            if row_id is None:
                outcome, code, message, retryable = (
                    "failed",
                    "row_deleted",
                    "the row this request served was deleted",
                    False,
                )
            item.finished_at = now
            if outcome == "ok":
                body = line["response"]["body"]
                usage = body.get("usage") or {}
                input_tokens += int(usage.get("prompt_tokens") or 0)
                output_tokens += int(usage.get("completion_tokens") or 0)
                successes.append(Result(row_id, item.custom_id, body, item.input_version))
                item_of_row[row_id] = item
                continue
            item.status = ItemStatus.NOT_RUN if outcome == "not_run" else ItemStatus.FAILED
            item.error_code, item.error_message = code[:64], message
            if row_id is not None:
                outcomes.append(Outcome(row_id, item.input_version, outcome, message, retryable))
            report.reasons[code] = report.reasons.get(code, 0) + 1

        written, rejected = spec.apply(successes) if successes else (set(), {})
        for result in successes:
            item = item_of_row[result.row_id]
            reason = rejected.get(result.row_id)
            if result.row_id in written:
                item.status = ItemStatus.SUCCEEDED
                report.succeeded += 1
            elif reason is not None:
                item.status, item.error_code, item.error_message = ItemStatus.FAILED, "unusable_response", reason
                outcomes.append(Outcome(result.row_id, result.version, "failed", reason, True))
                report.unusable += 1
                report.reasons["unusable_response"] = report.reasons.get("unusable_response", 0) + 1
            else:
                item.status, item.error_code = ItemStatus.SUPERSEDED, "superseded"
                item.error_message = "the row changed after this request was built; its current input is sent anew"
                report.superseded += 1
        report.failed += sum(1 for item in items if item.status == ItemStatus.FAILED)
        report.not_run += sum(1 for item in items if item.status == ItemStatus.NOT_RUN)

        _store_items(items)
        _count_settled(report, settle_rows(spec, outcomes))
        if input_tokens or output_tokens:
            BatchJob.objects.filter(pk=batch.pk).update(
                input_tokens=Coalesce(F("input_tokens"), 0) + input_tokens,
                output_tokens=Coalesce(F("output_tokens"), 0) + output_tokens,
            )


@dataclass
class _Item:
    """What ingesting reads and writes of a BatchItem; ``row_id`` is the work row it served (None once
    deleted)."""

    pk: int
    custom_id: str
    status: str
    input_version: int
    row_id: int | None
    error_code: str = ""
    error_message: str = ""
    finished_at: datetime | None = None


def _locked_items(batch: BatchJob, spec: BatchKindSpec, condition: str, params: list) -> list[_Item]:
    """The batch's items that meet ``condition``, locked until the transaction ends. Read as plain
    records with the parameters sent in binary: Django's IN list of 1,000 custom ids, quoted one by one
    in Python, and its model instances were most of an ingest's own time."""
    sql = (
        f"SELECT id, custom_id, status, input_version, {spec.item_field}_id FROM {BatchItem._meta.db_table}"
        f" WHERE batch_id = %b AND {condition} ORDER BY id FOR UPDATE"
    )
    with binary_params_cursor() as cursor:
        cursor.execute(sql, [batch.pk, *params])
        return [_Item(*row) for row in cursor.fetchall()]


def _store_items(items: list[_Item]) -> None:
    update_by_id(
        BatchItem._meta.db_table,
        {"status": "text", "error_code": "text", "error_message": "text", "finished_at": "timestamptz"},
        [(item.pk, item.status, item.error_code, item.error_message, item.finished_at) for item in items],
    )


def _count_settled(report: IngestReport, settled: Settled) -> None:
    report.retried += settled.retried
    report.given_up += settled.given_up


def _batch_failure_reason(batch: BatchJob) -> str:
    entries = batch.errors or []
    if not entries:
        return f"batch {batch.status}"
    first = entries[0]
    where = f" (line {first['line']})" if first.get("line") else ""
    more = f" and {len(entries) - 1} more" if len(entries) > 1 else ""
    return f"batch failed validation: {first.get('code')}: {first.get('message')}{where}{more}"


def settle_lost_batch(batch: BatchJob) -> IngestReport:
    """The provider no longer has the batch: none of its results will come, so its rows go back to
    pending (their attempt given back) and the batch is sealed as lost."""
    report = IngestReport()
    with try_session_lock(ADVISORY_LOCK_NAMESPACE, batch.pk) as acquired:
        batch.refresh_from_db()
        if not acquired or batch.ingested_at is not None:
            report.skipped = True
            return report
        _finish(batch, get_kind(batch.kind), report, lost=True)
    return report


def _finish(batch: BatchJob, spec: BatchKindSpec, report: IngestReport, lost: bool = False) -> None:
    """Items in neither file did not run: return their rows to pending, then seal the batch."""
    with transaction.atomic():
        batch = BatchJob.objects.select_for_update().get(pk=batch.pk)
        remaining = _locked_items(batch, spec, "status = %b", [ItemStatus.QUEUED])
        if lost:
            code, outcome, event = "batch_lost", "not_run", "lost"
            message = f"not run: the provider no longer has batch {batch.provider_batch_id} ({batch.poll_error})"
        elif failed_for_a_full_queue(batch):
            # Refused before anything ran; submission waits for room (core.batches.queue).
            code, outcome, event = "queue_full", "not_run", "queue_full"
            message = f"not run: {_batch_failure_reason(batch)}"
        elif batch.status == BatchStatus.FAILED:
            # The file broke a rule: it may be our request building, so it counts as an attempt.
            code, message, outcome, event = "batch_failed", _batch_failure_reason(batch), "failed", "validation_failed"
        else:
            code, message, outcome, event = "not_run", f"not run: batch {batch.status}", "not_run", None
        now = timezone.now()
        outcomes = []
        for item in remaining:
            item.status, item.error_code, item.error_message, item.finished_at = ItemStatus.NOT_RUN, code, message, now
            if item.row_id is not None:
                outcomes.append(Outcome(item.row_id, item.input_version, outcome, message, True))
        _store_items(remaining)
        _count_settled(report, settle_rows(spec, outcomes))
        report.not_run += len(remaining)
        batch.ingested_at = now
        batch.lost_at = now if lost else None
        batch.estimated_cost = batch_cost(
            batch.model, batch.input_tokens or batch.estimated_input_tokens, batch.output_tokens or 0
        )
        batch.save(update_fields=["ingested_at", "lost_at", "estimated_cost"])
    if event is not None:
        log_batch_event(event, batch, logging.WARNING, returned=len(remaining), reason=message)
    log_batch_event(
        "ingested",
        batch,
        succeeded=report.succeeded,
        failed=report.failed,
        not_run=report.not_run,
        unusable=report.unusable,
        superseded=report.superseded,
        unknown_lines=report.unknown_lines,
    )
    if report.retried:
        log_batch_event("items_retried", batch, count=report.retried)
    if report.given_up:
        log_batch_event("items_given_up", batch, logging.WARNING, count=report.given_up)
