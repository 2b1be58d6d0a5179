"""The batch state machine: where a batch should be by the clock, and the steps that take it there.

Execution is lazy. Whoever retrieves (or cancels) a batch advances it, under the batch's lock (see
batches), so several processes can poll the same batch and only one of them runs it. With latency L
the walk takes L seconds: `validating` for the first 10%, `in_progress` until 80% (request_counts
growing), `finalizing` until L, then `completed`. The requests run when the walk leaves `in_progress`;
with L = 0 the first retrieve after create walks all the way. Expiry (`expire=True` or metadata
`mock_scenario: expire`) replaces `finalizing` with `expired` after half of the requests ran. A cancel
moves the batch to `cancelling`, and the next retrieve finds it `cancelled` with the requests that
had run by the cancel.

`expires_at` holds by the clock: a batch whose walk would reach `finalizing` only after it expires
`expired` at `expires_at`, with the requests run by then in its output and `batch_expired` lines for the
rest. `mock_scenario: stuck_in_progress` never leaves `in_progress` (half of its requests run) and
`stuck_finalizing` never leaves `finalizing`; both end `expired` at `expires_at`.
"""

import math
from collections.abc import Callable

from . import failure_ledger
from .batch_records import STUCK_FINALIZING, STUCK_IN_PROGRESS
from .errors import MockAPIError
from .execution import execute
from .org_queue import limited, queue_error, queue_lock
from .scripted_outcomes import ATTEMPT_LEDGER
from .storage import MockStorage
from .validation import validate_batch_input

VALIDATING_SHARE = 0.1  # of the latency
FINALIZING_AT_SHARE = 0.8
EXPIRED_SHARE_RUN = 0.5  # an expiring batch runs this share of its requests
TERMINAL = ("completed", "failed", "expired", "cancelled")
CANCELLABLE = ("validating", "in_progress", "finalizing")


def _at(run: dict, share: float) -> float:
    return run["created"] + run["latency"] * share


def _progress(run: dict, now: float) -> float:
    """The share of the requests run by `now`, from 0 when validated to 1 when finalizing starts; a batch
    stuck in progress never passes `EXPIRED_SHARE_RUN`."""
    start, end = _at(run, VALIDATING_SHARE), _at(run, FINALIZING_AT_SHARE)
    share = 1.0 if end <= start else min(1.0, max(0.0, (now - start) / (end - start)))
    return min(share, EXPIRED_SHARE_RUN) if run.get("stuck") == STUCK_IN_PROGRESS else share


def _reaches_finalizing(record: dict) -> bool:
    """Whether the walk leaves `in_progress` before the batch expires."""
    run = record["run"]
    return run.get("stuck") != STUCK_IN_PROGRESS and _at(run, FINALIZING_AT_SHARE) < record["batch"]["expires_at"]


def finished_by(record: dict) -> float:
    """When the batch ends by the clock, polled or not (for the organisation queue)."""
    run, expires_at = record["run"], record["batch"]["expires_at"]
    if not _reaches_finalizing(record) or run.get("stuck") == STUCK_FINALIZING:
        return expires_at
    return _at(run, FINALIZING_AT_SHARE) if run["expire"] else _at(run, 1.0)


class BatchLifecycle:
    """Moves batch records through their statuses; the caller holds the batch's lock and saves the record."""

    def __init__(self, storage: MockStorage, workers: int, clock: Callable[[], float]):
        self.storage = storage
        self.workers = workers
        self.clock = clock

    def advance(self, record: dict) -> None:
        """Take a batch as far as the clock says it should be."""
        batch, run = record["batch"], record["run"]
        now = self.clock()
        expires_at = batch["expires_at"]
        if batch["status"] == "validating" and now >= _at(run, VALIDATING_SHARE):
            self._validate(record)
        if batch["status"] == "in_progress":
            counts, scan = batch["request_counts"], run["scan"]
            progress = _progress(run, min(now, expires_at))
            counts["failed"] = math.floor(progress * scan["expected_failed"])
            counts["completed"] = math.floor(progress * (scan["requests"] - scan["expected_failed"]))
            finalizing_at = _at(run, FINALIZING_AT_SHARE)
            if _reaches_finalizing(record) and now >= finalizing_at:
                if run["expire"]:
                    self._expire(record, math.floor(scan["requests"] * EXPIRED_SHARE_RUN), finalizing_at)
                    return
                batch["status"], batch["finalizing_at"] = "finalizing", int(finalizing_at)
                self._run(record, scan["requests"], expire_rest=False)
            elif now >= expires_at:
                self._expire(record, math.floor(scan["requests"] * progress), expires_at)
                return
        if batch["status"] == "finalizing":
            if run.get("stuck") == STUCK_FINALIZING:
                if now >= expires_at:  # every request ran; the output stays as it is
                    batch["status"], batch["expired_at"] = "expired", int(expires_at)
            elif now >= _at(run, 1.0):
                batch["status"], batch["completed_at"] = "completed", max(int(_at(run, 1.0)), int(self.clock()))
        if batch["status"] == "cancelling":
            self._finish_cancel(record)

    def _expire(self, record: dict, run_until: int, at: float) -> None:
        """`in_progress` → `expired`: requests [0, run_until) answered, `batch_expired` lines for the rest."""
        self._run(record, run_until, expire_rest=True)
        batch = record["batch"]
        batch["status"], batch["expired_at"] = "expired", max(int(at), int(min(self.clock(), batch["expires_at"])))

    def cancel(self, record: dict) -> bool:
        """Start cancelling; the requests that had run by now (by the clock) are kept when it is cancelled.

        False when the batch was already cancelling; a 409 when it is past cancelling.
        """
        batch, run = record["batch"], record["run"]
        if batch["status"] in CANCELLABLE:
            now = self.clock()
            run["cancel_progress"] = 1.0 if batch["finalizing_at"] else _progress(run, now)
            batch["status"], batch["cancelling_at"] = "cancelling", int(now)
            return True
        if batch["status"] != "cancelling":
            raise MockAPIError(409, f"Cannot cancel a batch with status '{batch['status']}'.")
        return False

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

    def _validate(self, record: dict) -> None:
        """`validating` → `in_progress`, or `failed` with the input file's errors or a full queue."""
        batch, run = record["batch"], record["run"]
        prior_attempts = failure_ledger.load(self.storage.batches.dir, ATTEMPT_LEDGER) if run.get("script") else {}
        scan = validate_batch_input(self.storage, batch, run, prior_attempts)
        batch["model"] = scan.model
        if scan.errors or not limited(run):
            self._admit(record, scan)
            return
        with queue_lock(self.storage):
            error = queue_error(self.storage, record, scan, self.clock(), finished_by)
            if error is not None:
                scan.errors.append(error)
            self._admit(record, scan)
            self.storage.batches.save(record)  # in the queue before the lock lets the next batch look

    def _admit(self, record: dict, scan) -> None:
        batch, run = record["batch"], record["run"]
        if scan.errors:
            batch["status"], batch["failed_at"] = "failed", int(self.clock())
            batch["errors"] = {"object": "list", "data": scan.errors}
            return
        run["scan"] = scan.to_record()
        batch["status"], batch["in_progress_at"] = "in_progress", int(_at(run, VALIDATING_SHARE))
        batch["request_counts"] = {"total": scan.requests, "completed": 0, "failed": 0}

    def _run(self, record: dict, run_until: int, *, expire_rest: bool) -> None:
        execute(self.storage, record, run_until, expire_rest=expire_rest, workers=self.workers)
