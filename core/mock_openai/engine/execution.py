"""Running a validated batch: its requests up to `run_until` (the rest expired, if asked), then its output
and error files published and its counts and usage recorded in the batch.

A batch of `PARALLEL_MIN_REQUESTS` or more is cut at validation checkpoints into one slice per worker;
the slices' segments become the output and error files as they are, without copying.

A run is all or nothing: its slices write into a private `.tmp-run-*` directory, from which the segments
of the published files are moved into place; the directory goes when the run ends, however it ends (a
slice that raises, a worker killed), so a failed run leaves nothing behind and the next retrieve runs the
batch afresh.
"""

import shutil
from contextlib import suppress
from pathlib import Path

from core.mock_openai.cassettes import load_cassettes

from . import failure_ledger
from .batch_records import usage
from .errors import MockAPIError
from .scripted_outcomes import ATTEMPT_LEDGER, stored_script
from .slices import PARALLEL_MIN_REQUESTS, SliceJob, SliceResult, plan_slices, run_slices
from .storage import FileStore, MockStorage, file_not_found, new_file_id


def execute(storage: MockStorage, record: dict, run_until: int, *, expire_rest: bool, workers: int) -> None:
    """Run requests [0, run_until) (and expire the rest if asked), then publish the output files."""
    batch, run = record["batch"], record["run"]
    output_id, error_id = new_file_id(), new_file_id()
    run_dir = storage.files.new_run_dir()
    try:
        jobs = _slice_jobs(storage, record, run_until, expire_rest, workers, run_dir, output_id, error_id)
        results = run_slices(jobs, workers)  # returns (or raises) once every slice's process has ended
        total = SliceResult()
        for result in results:
            total.add(result)
        lifetime = run["output_lifetime"]
        outputs = [(Path(job.output_path), result.output_bytes) for job, result in zip(jobs, results, strict=True)]
        errors = [(Path(job.error_path), result.error_bytes) for job, result in zip(jobs, results, strict=True)]
        published: list[str] = []
        try:
            for file_id, kind, segments in ((output_id, "output", outputs), (error_id, "error", errors)):
                if _publish(storage.files, file_id, batch, kind, segments, lifetime):
                    published.append(file_id)
            failure_ledger.record(storage.batches.dir, total.injected)  # served only once published
            failure_ledger.record(storage.batches.dir, total.scripted, ATTEMPT_LEDGER)
        except BaseException:
            for file_id in published:
                with suppress(MockAPIError):
                    storage.files.delete(file_id)
            raise
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)  # what a failed run wrote, and the empty segments
    batch["output_file_id"] = output_id if output_id in published else None
    batch["error_file_id"] = error_id if error_id in published else None
    batch["request_counts"] = {"total": run["scan"]["requests"], "completed": total.completed, "failed": total.failed}
    batch["usage"] = usage(total.input_tokens, total.output_tokens)


def _slice_jobs(
    storage: MockStorage,
    record: dict,
    run_until: int,
    expire_rest: bool,
    workers: int,
    run_dir: Path,
    output_id: str,
    error_id: str,
) -> list[SliceJob]:
    batch, run = record["batch"], record["run"]
    scan = run["scan"]
    input_path = storage.batch_input(batch)
    if input_path is None:  # only a batch created before batches kept their input, its file deleted
        raise file_not_found(batch["input_file_id"])
    covered = scan["requests"] if expire_rest else run_until
    parallel = covered >= PARALLEL_MIN_REQUESTS
    slices = plan_slices(scan["checkpoints"], covered, workers if parallel else 1)
    prior_failures = failure_ledger.load(storage.batches.dir)
    script = stored_script(run.get("script") or ())
    prior_attempts = failure_ledger.load(storage.batches.dir, ATTEMPT_LEDGER) if script else {}
    recorded = _recorded_answers(run.get("cassettes_dir"))
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
            output_path=str(run_dir / FileStore.part_name(output_id, part)),
            error_path=str(run_dir / FileStore.part_name(error_id, part)),
            script=script,
            prior_attempts=prior_attempts,
            recorded=recorded,
            strict_replay=bool(run.get("cassettes_strict")),
        )
        for part, (offset, start, stop) in enumerate(slices)
    ]


def _recorded_answers(cassettes: str | None) -> dict | None:
    """The cassettes a batch replays; a broken one is the mock's 500 naming its file and line, and the batch
    runs once it is mended (nothing was written)."""
    if not cassettes:
        return None
    try:
        return load_cassettes(Path(cassettes))
    except ValueError as error:
        raise MockAPIError(500, f"The mock's cassettes cannot be read: {error}", error_type="server_error") from error


def _publish(files: FileStore, file_id: str, batch: dict, kind: str, segments: list, lifetime: int | None) -> bool:
    """Publish the non-empty (path, size) segments as one `batch_output` file; False when all are empty."""
    parts = [(path, part_bytes) for path, part_bytes in segments if part_bytes]
    if not parts:
        return False
    file_object = files.new_file_object(
        file_id,
        filename=f"{batch['id']}_{kind}.jsonl",
        purpose="batch_output",
        size=sum(part_bytes for _, part_bytes in parts),
        expires_at=batch["created_at"] + lifetime if lifetime else None,
    )
    files.publish_segments(file_object, [path for path, _ in parts])
    return True
