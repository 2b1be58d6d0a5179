"""A batch's requests run in slices: one contiguous slice per process, streamed chunk by chunk.

A slice reads its requests from its byte offset of the input file in chunks of `CHUNK_REQUESTS`; each
chunk is answered in one dispatch (so its embeddings are one numpy call) and its lines serialised with
orjson straight from the float32 arrays, so memory stays flat whatever the batch size. Each slice runs
in its own (forked) process and writes its own segment of the output and error files, which execution
then publishes as one file each. Lines within a chunk are ordered by their request id, so output order
is not input order.
"""

import gc
import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import orjson

from core.mock_openai.generators.base import Request

from .answers import answer_requests, usage_tokens
from .atomic_files import atomic_writer
from .scripted_outcomes import line_error

CHUNK_REQUESTS = 512
PARALLEL_MIN_REQUESTS = 4096  # below this, forking costs more than it saves
EXPIRED_ERROR = line_error("batch_expired")
_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


@dataclass(frozen=True)
class SliceJob:
    """One process's share of a batch: requests [start, stop) of the input, starting at byte `offset`.

    Requests from `run_until` on are not run: they get a `batch_expired` error line when
    `expire_rest`, and no line at all otherwise (a cancelled batch).
    """

    input_path: str
    offset: int
    start: int
    stop: int
    run_until: int
    expire_rest: bool
    endpoint: str
    batch_id: str
    seed: int
    failure_rate: float
    prior_failures: dict  # custom_id -> injected failures already served (failure_ledger)
    created: int
    output_path: str
    error_path: str
    script: tuple = ()  # the batch's scripted outcomes (scripted_outcomes)
    prior_attempts: dict = field(default_factory=dict)  # custom_id -> scripted attempts already served
    recorded: dict | None = None  # request key -> Recorded answer, when replaying cassettes
    strict_replay: bool = False


@dataclass
class SliceResult:
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    output_bytes: int = 0
    error_bytes: int = 0
    injected: list = field(default_factory=list)  # custom_ids given an injected failure
    scripted: list = field(default_factory=list)  # custom_ids whose attempt the script decided

    def add(self, other: "SliceResult") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _request_ids(batch_id: str, custom_id: str) -> tuple[str, str]:
    """(batch_req_…, req_…): unique per batch and request, stable across retrieves and processes."""
    digest = hashlib.blake2b(f"{batch_id}:{custom_id}".encode(), digest_size=32).hexdigest()
    return f"batch_req_{digest[:32]}", f"req_{digest[32:]}"


def _read_requests(job: SliceJob):
    """(index, request) for the slice's requests, parsed lazily from the slice's byte offset."""
    with open(job.input_path, "rb") as handle:
        handle.seek(job.offset)
        index = job.start
        for raw in handle:
            if index >= job.stop:
                return
            if raw.strip():
                yield index, orjson.loads(raw)
                index += 1


def _run_chunk(
    job: SliceJob, chunk: list, result: SliceResult
) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    output, errors, to_answer = [], [], []
    for index, request in chunk:
        custom_id = request["custom_id"]
        line_id, request_id = _request_ids(job.batch_id, custom_id)
        if index >= job.run_until:
            if job.expire_rest:
                line = {"id": line_id, "custom_id": custom_id, "response": None, "error": EXPIRED_ERROR}
                errors.append((line_id, orjson.dumps(line)))
            continue
        to_answer.append((line_id, request_id, Request(custom_id, request["body"], job.seed, job.created)))

    answers = answer_requests(
        job.endpoint,
        [request for *_, request in to_answer],
        failure_rate=job.failure_rate,
        prior_failures=job.prior_failures,
        script=job.script,
        prior_attempts=job.prior_attempts,
        recorded=job.recorded,
        strict_replay=job.strict_replay,
    )
    for (line_id, request_id, request), answer in zip(to_answer, answers, strict=True):
        if answer.scripted:
            result.scripted.append(request.custom_id)
        if answer.line_error is not None:
            line = {"id": line_id, "custom_id": request.custom_id, "response": None, "error": answer.line_error}
            errors.append((line_id, orjson.dumps(line)))
            continue
        body = answer.body if answer.raw_body is None else orjson.Fragment(answer.raw_body)
        response = {"status_code": answer.status, "request_id": request_id, "body": body}
        line = {"id": line_id, "custom_id": request.custom_id, "response": response, "error": None}
        if answer.status == 200:
            tokens_in, tokens_out = usage_tokens(job.endpoint, answer.body)
            result.input_tokens += tokens_in
            result.output_tokens += tokens_out
            output.append((line_id, orjson.dumps(line, option=_DUMP_OPTIONS)))
        else:
            errors.append((line_id, orjson.dumps(line)))
            if answer.injected:
                result.injected.append(request.custom_id)
    result.completed += len(output)
    result.failed += len(errors)
    return output, errors


def _write_sorted(handle, lines: list[tuple[str, bytes]]) -> int:
    lines.sort(key=lambda pair: pair[0])
    data = b"\n".join(line for _, line in lines)
    if data:
        handle.write(data + b"\n")
    return len(data) + 1 if data else 0


def run_slice(job: SliceJob) -> SliceResult:
    """Run one slice and write its output and error segments (each atomically); picklable for a pool."""
    result = SliceResult()
    requests = _read_requests(job)
    with atomic_writer(Path(job.output_path)) as output, atomic_writer(Path(job.error_path)) as errors:
        while chunk := list(islice(requests, CHUNK_REQUESTS)):
            output_lines, error_lines = _run_chunk(job, chunk, result)
            result.output_bytes += _write_sorted(output, output_lines)
            result.error_bytes += _write_sorted(errors, error_lines)
    return result


def plan_slices(checkpoints: list, total: int, parts: int) -> list[tuple[int, int, int]]:
    """(offset, start, stop) for up to `parts` contiguous slices of `total` requests, cut at checkpoints."""
    if total == 0:
        return []
    cuts = [checkpoints[round(i * len(checkpoints) / parts)] for i in range(parts)]
    cuts = [cut for i, cut in enumerate(cuts) if i == 0 or cut[0] > cuts[i - 1][0]]
    stops = [cut[0] for cut in cuts[1:]] + [total]
    return [(offset, start, stop) for (start, offset), stop in zip(cuts, stops, strict=True)]


def _can_fork() -> bool:
    """Daemonic processes (Celery's prefork workers) may not have children; run inline there."""
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_slices(jobs: list[SliceJob], workers: int) -> list[SliceResult]:
    """Run the slices, in a pool of forked processes when there are several and it is allowed.

    A forked worker freezes what it inherits (gc.freeze): its garbage collections then walk only what the
    slice makes, not the parent's whole heap (about 100 ms a collection in the pipeline, each touching
    every inherited page, which a write then copies)."""
    if len(jobs) > 1 and workers > 1 and _can_fork():
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context, initializer=gc.freeze)
        with pool:
            return list(pool.map(run_slice, jobs))
    return [run_slice(job) for job in jobs]
