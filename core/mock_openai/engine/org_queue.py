"""OpenAI's organisation queue: the enqueued-token limit (and, for embeddings batches, the enqueued-request
limit) counts every batch in flight for the model, not one batch.

A batch leaving `validating` joins the queue only if what it brings plus what the in-flight batches of
its model hold stays within the limits; otherwise it fails validation with `token_limit_exceeded` (or
`request_limit_exceeded`), and a later batch passes once earlier ones have finished. In flight means
`in_progress` or `finalizing` and not yet due to finish by the clock: a batch nobody polls since leaves
the queue when its walk says it ended, as OpenAI's would. The check and the batch's own move to
`in_progress` happen under one root-wide lock, so two batches validating at once cannot both take the
last room in the queue.
"""

from pathlib import Path

from .file_locks import exclusive_lock
from .storage import MockStorage

IN_FLIGHT = ("in_progress", "finalizing")
QUEUE_LOCK = "org_queue.lock"


def limited(run: dict) -> bool:
    return run.get("enqueued_token_limit") is not None or run.get("enqueued_request_limit") is not None


def queue_lock(storage: MockStorage):
    """Held while a batch with a queue limit is admitted (checked and saved as `in_progress`)."""
    return exclusive_lock(Path(storage.batches.dir) / QUEUE_LOCK)


def _enqueued(storage: MockStorage, batch_id: str, model: str | None, now: float, finished_by) -> tuple[int, int]:
    """(tokens, requests) of the other batches of `model` in flight at `now`."""
    tokens = requests = 0
    for record in storage.batches.iter_records():
        batch, scan = record["batch"], record["run"].get("scan")
        if batch["id"] == batch_id or batch["status"] not in IN_FLIGHT or batch["model"] != model or not scan:
            continue
        if now >= finished_by(record):
            continue
        tokens += scan["input_tokens"]
        requests += scan["requests"]
    return tokens, requests


def queue_error(storage: MockStorage, record: dict, scan, now: float, finished_by) -> dict | None:
    """OpenAI's BatchError when the queue has no room for this batch's `scan`; None when it joins.

    `finished_by(record)` is when an in-flight batch will have left the queue by the clock."""
    run = record["run"]
    token_limit, request_limit = run.get("enqueued_token_limit"), run.get("enqueued_request_limit")
    tokens, requests = _enqueued(storage, record["batch"]["id"], scan.model, now, finished_by)
    if token_limit is not None and tokens + scan.input_tokens > token_limit:
        return _queue_full("token_limit_exceeded", scan.model, token_limit, "enqueued tokens")
    embeddings = record["batch"]["endpoint"] == "/v1/embeddings"
    if embeddings and request_limit is not None and requests + scan.requests > request_limit:
        return _queue_full("request_limit_exceeded", scan.model, request_limit, "enqueued requests")
    return None


def _queue_full(code: str, model: str | None, limit: int, unit: str) -> dict:
    noun = "token" if code == "token_limit_exceeded" else "request"
    return {
        "code": code,
        "message": f"Enqueued {noun} limit reached for {model} in organization org-mock. Limit: {limit:,} {unit}. "
        "Please try again once some in_progress batches have been completed.",
        "param": None,
        "line": None,
    }
