"""The mock Files + Batch API itself: the operations, the batch state machine, and their JSON answers.

Transport-free: it answers plain dicts shaped exactly like OpenAI's JSON and raises `MockAPIError`;
`MockOpenAIClient` wraps it in the SDK's types and the Django views in HTTP. It needs no database.

Execution is lazy. A batch is a JSON record; whoever retrieves (or cancels) it advances its state
machine to where the clock says it should be, under a per-batch file lock, so several processes can
poll the same batch and only one of them runs it. With latency L the walk takes L seconds:
`validating` for the first 10%, `in_progress` until 80% (request_counts growing), `finalizing` until
L, then `completed`. The requests run when the walk leaves `in_progress`; with L = 0 the first
retrieve after create walks all the way. Expiry (`expire=True` or metadata `mock_scenario: expire`)
replaces `finalizing` with `expired` after half of the requests ran. A cancel moves the batch to
`cancelling`, and the next retrieve finds it `cancelled` with the requests that had run by the cancel.
"""

import math
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import mock_failure_ledger as failure_ledger
from .mock_errors import MockAPIError, bad_request
from .mock_execution import PARALLEL_MIN_REQUESTS, SliceJob, SliceResult, available_cores, plan_slices, run_slices
from .mock_storage import MockStorage, new_batch_id, new_file_id
from .mock_validation import check_create_parameters, check_expires_after, check_metadata, scan_input_file
from .openai_limits import BATCH_INPUT_EXPIRY_SECONDS, FILE_PURPOSES, MAX_UPLOAD_BYTES

VALIDATING_SHARE = 0.1  # of the latency
FINALIZING_AT_SHARE = 0.8
EXPIRED_SHARE_RUN = 0.5  # an expiring batch runs this share of its requests
COMPLETION_WINDOW_SECONDS = 24 * 3600
TERMINAL = ("completed", "failed", "expired", "cancelled")
CANCELLABLE = ("validating", "in_progress", "finalizing")
EXPIRE_SCENARIO = "expire"
BATCH_LIST_LIMITS = (1, 100)
FILE_LIST_LIMITS = (1, 10_000)


def _page(items: list[dict], has_more: bool) -> dict:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def _paginate(records: list[dict], key: str, after: str | None, limit: int) -> dict:
    """One page of `records` (already in list order) after the object with id `after`."""
    ids = [record[key]["id"] for record in records]
    start = 0
    if after is not None:
        if after not in ids:
            raise bad_request(f"Invalid 'after': no object with id '{after}'.", "after", "invalid_value")
        start = ids.index(after) + 1
    chosen = records[start : start + limit]
    return _page([record[key] for record in chosen], start + limit < len(records))


def _check_limit(limit: object, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if isinstance(limit, bool) or not isinstance(limit, int) or not low <= limit <= high:
        raise bad_request(f"Invalid 'limit': expected an integer from {low} to {high}.", "limit", "invalid_value")
    return limit


class MockBatchEngine:
    """Files and batches under `root`, run with the given failure rate, seed, latency and scenario knobs."""

    def __init__(
        self,
        root: Path,
        *,
        failure_rate: float = 0.05,
        seed: int = 0,
        latency: float = 0.0,
        expire: bool = False,
        enqueued_token_limit: int | None = None,
        workers: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.storage = MockStorage(root, clock)
        self.failure_rate = failure_rate
        self.seed = seed
        self.latency = latency
        self.expire = expire
        self.enqueued_token_limit = enqueued_token_limit
        self.workers = workers or available_cores()
        self.clock = clock

    # --- files ------------------------------------------------------------------------------------
    def create_file(self, chunks: Iterable[bytes], *, filename: str, purpose: object, expires_after=None) -> dict:
        if purpose not in FILE_PURPOSES:
            raise bad_request(
                f"Invalid value for 'purpose': expected one of {', '.join(FILE_PURPOSES)}.", "purpose", "invalid_value"
            )
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise bad_request("Invalid file format for Batch API. Must be .jsonl", "file", "invalid_file_format")
        expires_in = BATCH_INPUT_EXPIRY_SECONDS if purpose == "batch" else None
        if expires_after is not None:
            expires_in = check_expires_after(expires_after, "expires_after")
        return self.storage.save_upload(
            chunks, filename=filename, purpose=purpose, max_bytes=MAX_UPLOAD_BYTES, expires_in=expires_in
        )

    def retrieve_file(self, file_id: str) -> dict:
        return self.storage.file_record(file_id)["file"]

    def delete_file(self, file_id: str) -> dict:
        self.storage.delete_file(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    def file_content(self, file_id: str) -> Iterator[bytes]:
        return self.storage.iter_content(file_id)

    def list_files(self, *, purpose: str | None = None, limit: int = 10_000, order: str = "desc", after=None) -> dict:
        limit = _check_limit(limit, FILE_LIST_LIMITS)
        if order not in ("asc", "desc"):
            raise bad_request("Invalid value for 'order': expected 'asc' or 'desc'.", "order", "invalid_value")
        records = [r for r in self.storage.iter_file_records() if purpose is None or r["file"]["purpose"] == purpose]
        records.sort(key=lambda r: (r["order"], r["file"]["id"]), reverse=order == "desc")
        return _paginate(records, "file", after, limit)

    # --- batches ----------------------------------------------------------------------------------
    def create_batch(
        self,
        *,
        input_file_id: object,
        endpoint: object,
        completion_window: object,
        metadata=None,
        output_expires_after=None,
    ) -> dict:
        if not isinstance(input_file_id, str) or not input_file_id:
            raise bad_request(
                "Missing required parameter: 'input_file_id'.", "input_file_id", "missing_required_parameter"
            )
        input_file = self.storage.file_record(input_file_id)["file"]
        output_lifetime = check_create_parameters(
            input_file=input_file,
            endpoint=endpoint,
            completion_window=completion_window,
            output_expires_after=output_expires_after,
        )
        metadata = check_metadata(metadata)
        now = self.clock()
        created_at = int(now)
        batch = {
            "id": new_batch_id(now),
            "object": "batch",
            "endpoint": endpoint,
            "model": None,
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": completion_window,
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created_at,
            "in_progress_at": None,
            "expires_at": created_at + COMPLETION_WINDOW_SECONDS,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": _usage(0, 0),
            "metadata": metadata,
        }
        run = {
            "created": now,
            "latency": self.latency,
            "seed": self.seed,
            "failure_rate": self.failure_rate,
            "expire": self.expire or (metadata or {}).get("mock_scenario") == EXPIRE_SCENARIO,
            "enqueued_token_limit": self.enqueued_token_limit,
            "output_lifetime": output_lifetime,
            "scan": None,
            "cancel_progress": None,
        }
        record = {"batch": batch, "run": run, "order": time.time_ns()}
        self.storage.save_batch(record)
        return batch

    def retrieve_batch(self, batch_id: str) -> dict:
        with self.storage.batch_lock(batch_id):
            record = self.storage.batch_record(batch_id)
            if record["batch"]["status"] not in TERMINAL:
                self._advance(record)
                self.storage.save_batch(record)
            return record["batch"]

    def cancel_batch(self, batch_id: str) -> dict:
        """Start cancelling; the requests that had run by now (by the clock) are kept when it is cancelled."""
        with self.storage.batch_lock(batch_id):
            record = self.storage.batch_record(batch_id)
            batch, run = record["batch"], record["run"]
            if batch["status"] in CANCELLABLE:
                now = self.clock()
                run["cancel_progress"] = 1.0 if batch["finalizing_at"] else self._progress(run, now)
                batch["status"], batch["cancelling_at"] = "cancelling", int(now)
                self.storage.save_batch(record)
            elif batch["status"] != "cancelling":
                raise MockAPIError(409, f"Cannot cancel a batch with status '{batch['status']}'.")
            return batch

    def list_batches(self, *, after: str | None = None, limit: int = 20) -> dict:
        """Newest first. Listing shows each batch as last observed; retrieve advances it."""
        limit = _check_limit(limit, BATCH_LIST_LIMITS)
        records = sorted(self.storage.iter_batch_records(), key=lambda r: (r["order"], r["batch"]["id"]), reverse=True)
        return _paginate(records, "batch", after, limit)

    # --- the state machine --------------------------------------------------------------------------
    @staticmethod
    def _at(run: dict, share: float) -> float:
        return run["created"] + run["latency"] * share

    def _progress(self, run: dict, now: float) -> float:
        start, end = self._at(run, VALIDATING_SHARE), self._at(run, FINALIZING_AT_SHARE)
        return 1.0 if end <= start else min(1.0, max(0.0, (now - start) / (end - start)))

    def _advance(self, record: dict) -> None:
        batch, run = record["batch"], record["run"]
        now = self.clock()
        if batch["status"] == "validating" and now >= self._at(run, VALIDATING_SHARE):
            self._validate(record)
        if batch["status"] == "in_progress":
            counts, scan = batch["request_counts"], run["scan"]
            progress = self._progress(run, now)
            counts["failed"] = math.floor(progress * scan["expected_failed"])
            counts["completed"] = math.floor(progress * (scan["requests"] - scan["expected_failed"]))
            if now >= self._at(run, FINALIZING_AT_SHARE):
                if run["expire"]:
                    self._run(record, math.floor(scan["requests"] * EXPIRED_SHARE_RUN), expire_rest=True)
                    batch["status"], batch["expired_at"] = (
                        "expired",
                        max(int(self._at(run, FINALIZING_AT_SHARE)), int(self.clock())),
                    )
                    return
                batch["status"], batch["finalizing_at"] = "finalizing", int(self._at(run, FINALIZING_AT_SHARE))
                self._run(record, scan["requests"], expire_rest=False)
        if batch["status"] == "finalizing" and now >= self._at(run, 1.0):
            batch["status"], batch["completed_at"] = "completed", max(int(self._at(run, 1.0)), int(self.clock()))
        if batch["status"] == "cancelling":
            self._finish_cancel(record)

    def _finish_cancel(self, record: dict) -> None:
        """`cancelling` → `cancelled`, running the share of requests that had run when the cancel came."""
        batch, run = record["batch"], record["run"]
        if batch["finalizing_at"] is None and run["cancel_progress"] > 0:
            if run["scan"] is None:
                self._validate(record)
                if batch["status"] == "failed":
                    return
            self._run(record, math.floor(run["scan"]["requests"] * run["cancel_progress"]), expire_rest=False)
        batch["status"], batch["cancelled_at"] = "cancelled", int(self.clock())

    def _fail(self, batch: dict, errors: list[dict]) -> None:
        batch["status"], batch["failed_at"] = "failed", int(self.clock())
        batch["errors"] = {"object": "list", "data": errors}

    def _validate(self, record: dict) -> None:
        batch, run = record["batch"], record["run"]
        try:
            input_record = self.storage.file_record(batch["input_file_id"])
        except MockAPIError:
            self._fail(
                batch,
                [{"code": "missing_input_file", "message": "The input file was deleted.", "param": None, "line": None}],
            )
            return
        path = self.storage.data_paths(input_record)[0]
        scan = scan_input_file(
            path, input_record["file"]["bytes"], batch["endpoint"], seed=run["seed"], failure_rate=run["failure_rate"]
        )
        limit = run["enqueued_token_limit"]
        if not scan.errors and limit is not None and scan.input_tokens > limit:
            scan.errors.append(
                {
                    "code": "token_limit_exceeded",
                    "message": f"Enqueued token limit reached for {scan.model} in organization org-mock. "
                    f"Limit: {limit:,} enqueued tokens. "
                    "Please try again once some in_progress batches have been completed.",
                    "param": None,
                    "line": None,
                }
            )
        batch["model"] = scan.model
        if scan.errors:
            self._fail(batch, scan.errors)
            return
        run["scan"] = scan.to_record()
        batch["status"], batch["in_progress_at"] = "in_progress", int(self._at(run, VALIDATING_SHARE))
        batch["request_counts"] = {"total": scan.requests, "completed": 0, "failed": 0}

    def _run(self, record: dict, run_until: int, *, expire_rest: bool) -> None:
        """Run requests [0, run_until) (and expire the rest if asked), then publish the output files."""
        batch, run = record["batch"], record["run"]
        scan = run["scan"]
        input_path = self.storage.data_paths(self.storage.file_record(batch["input_file_id"]))[0]
        covered = scan["requests"] if expire_rest else run_until
        parallel = covered >= PARALLEL_MIN_REQUESTS
        slices = plan_slices(scan["checkpoints"], covered, self.workers if parallel else 1)
        output_id, error_id = new_file_id(), new_file_id()
        prior_failures = failure_ledger.load(self.storage.batch_dir)
        jobs = [
            SliceJob(
                input_path=str(input_path),
                offset=offset,
                start=start,
                stop=stop,
                run_until=run_until,
                expire_rest=expire_rest,
                endpoint=batch["endpoint"],
                batch_id=batch["id"],
                seed=run["seed"],
                failure_rate=run["failure_rate"],
                prior_failures=prior_failures,
                created=batch["in_progress_at"] or batch["created_at"],
                output_path=str(self.storage.output_part_path(output_id, part)),
                error_path=str(self.storage.output_part_path(error_id, part)),
            )
            for part, (offset, start, stop) in enumerate(slices)
        ]
        results = run_slices(jobs, self.workers)
        total = SliceResult()
        for result in results:
            total.add(result)
        failure_ledger.record(self.storage.batch_dir, total.injected)
        lifetime = run["output_lifetime"]
        outputs = [(Path(job.output_path), result.output_bytes) for job, result in zip(jobs, results, strict=True)]
        errors = [(Path(job.error_path), result.error_bytes) for job, result in zip(jobs, results, strict=True)]
        batch["output_file_id"] = self._publish(output_id, batch, "output", outputs, lifetime)
        batch["error_file_id"] = self._publish(error_id, batch, "error", errors, lifetime)
        batch["request_counts"] = {"total": scan["requests"], "completed": total.completed, "failed": total.failed}
        batch["usage"] = _usage(total.input_tokens, total.output_tokens)

    def _publish(self, file_id: str, batch: dict, kind: str, segments: list, lifetime: int | None) -> str | None:
        """Publish the non-empty (path, size) segments as one `batch_output` file; None when all are empty."""
        parts, size = [], 0
        for path, part_bytes in segments:
            if part_bytes:
                parts.append(path.name)
                size += part_bytes
            else:
                path.unlink(missing_ok=True)
        if not parts:
            return None
        file_object = self.storage.new_file_object(
            file_id,
            filename=f"{batch['id']}_{kind}.jsonl",
            purpose="batch_output",
            size=size,
            expires_at=batch["created_at"] + lifetime if lifetime else None,
        )
        self.storage.publish_file(file_object, parts)
        return file_id


def _usage(input_tokens: int, output_tokens: int) -> dict:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
