"""Running a validated batch: its requests up to `run_until` (the rest expired, if asked), then its output
and error files published and its counts and usage recorded in the batch.

A batch of `PARALLEL_MIN_REQUESTS` or more is cut at validation checkpoints into one slice per worker;
the slices' segments become the output and error files as they are, without copying.
"""

from pathlib import Path

from . import failure_ledger
from .batch_records import usage
from .slices import PARALLEL_MIN_REQUESTS, SliceJob, SliceResult, plan_slices, run_slices
from .storage import FileStore, MockStorage, new_file_id


def execute(storage: MockStorage, record: dict, run_until: int, *, expire_rest: bool, workers: int) -> None:
    """Run requests [0, run_until) (and expire the rest if asked), then publish the output files."""
    batch, run = record["batch"], record["run"]
    output_id, error_id = new_file_id(), new_file_id()
    jobs = _slice_jobs(storage, record, run_until, expire_rest, workers, output_id, error_id)
    results = run_slices(jobs, workers)
    total = SliceResult()
    for result in results:
        total.add(result)
    failure_ledger.record(storage.batches.dir, total.injected)
    lifetime = run["output_lifetime"]
    outputs = [(Path(job.output_path), result.output_bytes) for job, result in zip(jobs, results, strict=True)]
    errors = [(Path(job.error_path), result.error_bytes) for job, result in zip(jobs, results, strict=True)]
    batch["output_file_id"] = _publish(storage.files, output_id, batch, "output", outputs, lifetime)
    batch["error_file_id"] = _publish(storage.files, error_id, batch, "error", errors, lifetime)
    batch["request_counts"] = {"total": run["scan"]["requests"], "completed": total.completed, "failed": total.failed}
    batch["usage"] = usage(total.input_tokens, total.output_tokens)


def _slice_jobs(
    storage: MockStorage,
    record: dict,
    run_until: int,
    expire_rest: bool,
    workers: int,
    output_id: str,
    error_id: str,
) -> list[SliceJob]:
    batch, run = record["batch"], record["run"]
    scan = run["scan"]
    input_path = storage.files.data_paths(storage.files.record(batch["input_file_id"]))[0]
    covered = scan["requests"] if expire_rest else run_until
    parallel = covered >= PARALLEL_MIN_REQUESTS
    slices = plan_slices(scan["checkpoints"], covered, workers if parallel else 1)
    prior_failures = failure_ledger.load(storage.batches.dir)
    return [
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
            output_path=str(storage.files.part_path(output_id, part)),
            error_path=str(storage.files.part_path(error_id, part)),
        )
        for part, (offset, start, stop) in enumerate(slices)
    ]


def _publish(
    files: FileStore, file_id: str, batch: dict, kind: str, segments: list, lifetime: int | None
) -> str | None:
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
    file_object = files.new_file_object(
        file_id,
        filename=f"{batch['id']}_{kind}.jsonl",
        purpose="batch_output",
        size=size,
        expires_at=batch["created_at"] + lifetime if lifetime else None,
    )
    files.publish(file_object, parts)
    return file_id
