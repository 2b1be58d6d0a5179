"""Faults in a batch's life the mock survives as OpenAI does (issue 8, case 7): its input file deleted
while the batch runs, and a run that fails part-way (a slice raising, a worker process killed), which
must leave nothing on disk and let a later retrieve run the batch in full."""

import errno
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import openai
import orjson
import pytest

from core.mock_openai.client import MockOpenAIClient
from core.mock_openai.engine import slices
from core.mock_openai.engine.housekeeping import clean
from core.mock_openai.engine.slices import PARALLEL_MIN_REQUESTS
from tests.mock_batch_helpers import by_custom_id, embedding_request, read_lines, respond, upload, write_jsonl

DAY = 24 * 3600
LATENCY = 100.0


class FakeClock:
    """Wall time the test moves by hand (the engine reads time only through its clock)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _create(client, uploaded):
    return client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")


def _names(directory) -> set[str]:
    return {path.name for path in directory.iterdir()}


# --- the input file deleted while the batch runs ----------------------------------------------------
@pytest.mark.parametrize("deleted_while", ["validating", "in_progress"])
def test_deleting_the_input_file_does_not_lose_a_running_batch(mock_client_factory, tmp_path, deleted_while):
    clock = FakeClock()
    client = mock_client_factory(failure_rate=0.0, latency=LATENCY, clock=clock)
    requests = [embedding_request(f"cv-{i}", f"nurse {i} in lyon", dimensions=8) for i in range(40)]
    uploaded = upload(client, write_jsonl(tmp_path / "in.jsonl", requests))
    files = client.engine.storage.files
    upload_data = files.data_paths(files.record(uploaded.id))[0]
    batch = _create(client, uploaded)
    links_at_create = upload_data.stat().st_nlink
    start = clock.now
    if deleted_while == "in_progress":
        clock.now = start + LATENCY * 0.5
        assert client.batches.retrieve(batch.id).status == "in_progress"

    assert client.files.delete(uploaded.id).deleted
    # Gone from the Files API, as at OpenAI ...
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(uploaded.id)
    assert list(client.files.list()) == []
    assert not upload_data.exists()

    # ... but the batch still has its input: it validates, runs and completes with every answer.
    clock.now = start + LATENCY * 0.5
    assert client.batches.retrieve(batch.id).status == "in_progress"
    clock.now = start + LATENCY
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.errors is None and done.input_file_id == uploaded.id
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (40, 40, 0)
    assert done.error_file_id is None
    output = by_custom_id(read_lines(client, done.output_file_id))
    assert set(output) == {request["custom_id"] for request in requests}
    for request in requests:
        line = output[request["custom_id"]]
        assert line["response"]["status_code"] == 200
        expected = respond(request["url"], request["body"], custom_id=request["custom_id"])[1]
        assert line["response"]["body"] == orjson.loads(orjson.dumps(expected, option=orjson.OPT_SERIALIZE_NUMPY))

    # A finished batch needs its input no more: nothing of it is left on disk.
    root = client.root
    assert _names(root / "input_files") == set()
    assert _names(root / "batch_metadata") == {f"{batch.id}.json", f"{batch.id}.lock"}
    assert list(client.engine.storage.stray_paths()) == []
    assert links_at_create == 2  # meanwhile the batch held its input by a hard link, not a copy


def test_where_hard_links_are_refused_the_batch_keeps_a_copy(mock_client_factory, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)  # a filesystem without hard links (or the root split across two)
    clock = FakeClock()
    client = mock_client_factory(failure_rate=0.0, latency=LATENCY, clock=clock)
    path = write_jsonl(tmp_path / "in.jsonl", [embedding_request(f"cv-{i}", "x", dimensions=8) for i in range(5)])
    uploaded = upload(client, path)
    batch = _create(client, uploaded)
    kept = client.engine.storage.batches.input_path(batch.id)
    assert kept.read_bytes() == path.read_bytes() and kept.stat().st_nlink == 1
    client.files.delete(uploaded.id)
    clock.now += LATENCY
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and len(read_lines(client, done.output_file_id)) == 5
    assert not kept.exists() and list(client.engine.storage.stray_paths()) == []


def test_a_batch_created_while_its_input_is_being_deleted_is_refused_like_an_unknown_file(mock_client, tmp_path):
    """The input's data gone between the record read and the batch's own link: a 404, no batch, no leftover."""
    uploaded = upload(mock_client, write_jsonl(tmp_path / "in.jsonl", [embedding_request("a", "x", dimensions=8)]))
    files = mock_client.engine.storage.files
    files.data_paths(files.record(uploaded.id))[0].unlink()  # what a concurrent delete does just after
    with pytest.raises(openai.NotFoundError):
        _create(mock_client, uploaded)
    assert list(mock_client.batches.list()) == []
    assert _names(mock_client.root / "batch_metadata") == set()


def test_clean_removes_a_batch_private_input_with_the_batch_and_keeps_a_running_one(mock_client_factory, tmp_path):
    root = mock_client_factory().root
    old = mock_client_factory(failure_rate=0.0, latency=0.0, clock=FakeClock(time.time() - 10 * DAY))
    clock = FakeClock(time.time())
    running = mock_client_factory(failure_rate=0.0, latency=LATENCY, clock=clock)
    storage = old.engine.storage
    lines = [embedding_request("a", "x", dimensions=8)]
    finished = _create(old, upload(old, write_jsonl(tmp_path / "old.jsonl", lines)))
    assert old.batches.retrieve(finished.id).status == "completed"
    running_input = upload(running, write_jsonl(tmp_path / "running.jsonl", lines))
    in_flight = _create(running, running_input)
    running.files.delete(running_input.id)
    # A process that died after saving the finished batch, before releasing its input, left it behind;
    # one that died mid-create, before saving the batch, left an input no batch owns.
    leftover, orphan = storage.batches.input_path(finished.id), storage.batches.input_path("batch_" + "f" * 32)
    leftover.write_bytes(b"{}\n")
    orphan.write_bytes(b"{}\n")
    os.utime(orphan, (time.time() - 10 * DAY,) * 2)

    report = clean(MockOpenAIClient(root=root).engine, 7 * DAY)
    assert report.batches == [finished.id] and report.stray_paths == 1
    assert not leftover.exists() and not orphan.exists()
    assert storage.batches.input_path(in_flight.id).exists()  # a running batch keeps its input
    assert _names(root / "batch_metadata") == {f"{in_flight.id}.json", f"{in_flight.id}.input.jsonl"}
    clock.now += LATENCY
    assert running.batches.retrieve(in_flight.id).status == "completed"
    assert not storage.batches.input_path(in_flight.id).exists()


# --- a parallel run that fails part-way ----------------------------------------------------------------
COUNT = PARALLEL_MIN_REQUESTS + 100
POISON = f"r{COUNT - 1}"  # in the last of the two slices


class SliceFault(RuntimeError):
    pass


def _big_requests():
    return (embedding_request(f"r{i}", f"word{i % 97} text {i}", dimensions=4) for i in range(COUNT))


def _poison(monkeypatch, fault: str) -> None:
    """The slice that holds POISON fails below the answers (a generator's own exception only costs its
    request a 500 line): it raises, as a full disk would, or its worker is killed."""
    original, parent = slices.answer_requests, os.getpid()

    def answer_requests(endpoint, requests, **options):
        if any(request.custom_id == POISON for request in requests):
            if fault == "killed" and os.getpid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)
            raise SliceFault(f"the slice with {POISON} failed")
        return original(endpoint, requests, **options)

    monkeypatch.setattr(slices, "answer_requests", answer_requests)


@pytest.mark.parametrize("fault", ["raises", "killed"])
def test_a_failed_parallel_run_leaves_no_slice_and_a_later_run_completes(
    mock_client_factory, tmp_path, monkeypatch, fault
):
    path = write_jsonl(tmp_path / "big.jsonl", _big_requests())
    client = mock_client_factory(root=tmp_path / "faulty", failure_rate=0.05, seed=5, workers=2)
    uploaded = upload(client, path)
    batch = _create(client, uploaded)
    output_dir = client.root / "output_files"

    _poison(monkeypatch, fault)
    for _ in range(3):
        with pytest.raises(SliceFault if fault == "raises" else BrokenProcessPool):
            client.batches.retrieve(batch.id)
        assert _names(output_dir) == set()  # no segment, no temporary file, no run directory
        assert list(client.engine.storage.stray_paths()) == []
    assert [f.id for f in client.files.list()] == [uploaded.id]
    assert client.engine.storage.batches.record(batch.id)["batch"]["status"] == "validating"

    monkeypatch.undo()
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts.total == COUNT
    assert done.request_counts.completed + done.request_counts.failed == COUNT and done.request_counts.failed > 0
    output = by_custom_id(read_lines(client, done.output_file_id))
    errors = by_custom_id(read_lines(client, done.error_file_id))
    assert len(output) == done.request_counts.completed and len(errors) == done.request_counts.failed
    assert set(output) | set(errors) == {f"r{i}" for i in range(COUNT)}

    # The same results as a run that never failed (which also shows the failed runs served no failure).
    reference_client = mock_client_factory(root=tmp_path / "reference", failure_rate=0.05, seed=5, workers=2)
    reference = reference_client.batches.retrieve(_create(reference_client, upload(reference_client, path)).id)
    assert reference.request_counts == done.request_counts
    expected = by_custom_id(read_lines(reference_client, reference.output_file_id))
    assert {k: v["response"]["body"] for k, v in output.items()} == {
        k: v["response"]["body"] for k, v in expected.items()
    }
    assert set(errors) == set(by_custom_id(read_lines(reference_client, reference.error_file_id)))

    # Only the published files are left: their records and the segments they name.
    published = [client.engine.storage.files.record(file_id) for file_id in (done.output_file_id, done.error_file_id)]
    assert _names(output_dir) == {f"{r['file']['id']}.json" for r in published} | {
        part for r in published for part in r["parts"]
    }
    for file_id in (done.output_file_id, done.error_file_id):
        assert client.files.retrieve(file_id).bytes == len(client.files.content(file_id).content)
    assert list(client.engine.storage.stray_paths()) == []
