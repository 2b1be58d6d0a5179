"""The batch state machine: where a batch should be by the clock, and the steps that take it there.

Execution is lazy. Whoever retrieves (or cancels) a batch advances it, under the batch's lock (see
batches), so several processes can poll the same batch and only one of them runs it. With latency L
the walk takes L seconds: `validating` for the first 10%, `in_progress` until 80% (request_counts
growing), `finalizing` until L, then `completed`. The requests run when the walk leaves `in_progress`;
with L = 0 the first retrieve after create walks all the way. Expiry (`expire=True` or metadata
`mock_scenario: expire`) replaces `finalizing` with `expired` after half of the requests ran. A cancel
moves the batch to `cancelling`, and the next retrieve finds it `cancelled` with the requests that
had run by the cancel.
"""

import math
from collections.abc import Callable

from .errors import MockAPIError
from .execution import execute
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
    """The share of the requests run by `now`, from 0 when validated to 1 when finalizing starts."""
    start, end = _at(run, VALIDATING_SHARE), _at(run, FINALIZING_AT_SHARE)
    return 1.0 if end <= start else min(1.0, max(0.0, (now - start) / (end - start)))


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
        if batch["status"] == "validating" and now >= _at(run, VALIDATING_SHARE):
            self._validate(record)
        if batch["status"] == "in_progress":
            counts, scan = batch["request_counts"], run["scan"]
            progress = _progress(run, now)
            counts["failed"] = math.floor(progress * scan["expected_failed"])
            counts["completed"] = math.floor(progress * (scan["requests"] - scan["expected_failed"]))
            if now >= _at(run, FINALIZING_AT_SHARE):
                if run["expire"]:
                    self._run(record, math.floor(scan["requests"] * EXPIRED_SHARE_RUN), expire_rest=True)
                    batch["status"], batch["expired_at"] = (
                        "expired",
                        max(int(_at(run, FINALIZING_AT_SHARE)), int(self.clock())),
                    )
                    return
                batch["status"], batch["finalizing_at"] = "finalizing", int(_at(run, FINALIZING_AT_SHARE))
                self._run(record, scan["requests"], expire_rest=False)
        if batch["status"] == "finalizing" and now >= _at(run, 1.0):
            batch["status"], batch["completed_at"] = "completed", max(int(_at(run, 1.0)), int(self.clock()))
        if batch["status"] == "cancelling":
            self._finish_cancel(record)

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
        """`validating` → `in_progress`, or `failed` with the input file's errors."""
        batch, run = record["batch"], record["run"]
        scan = validate_batch_input(self.storage, batch, run)
        batch["model"] = scan.model
        if scan.errors:
            batch["status"], batch["failed_at"] = "failed", int(self.clock())
            batch["errors"] = {"object": "list", "data": scan.errors}
            return
        run["scan"] = scan.to_record()
        batch["status"], batch["in_progress_at"] = "in_progress", int(_at(run, VALIDATING_SHARE))
        batch["request_counts"] = {"total": scan.requests, "completed": 0, "failed": 0}

    def _run(self, record: dict, run_until: int, *, expire_rest: bool) -> None:
        execute(self.storage, record, run_until, expire_rest=expire_rest, workers=self.workers)
