"""The mock's storage: atomic writes, crashes mid-write, and ids that never become paths unchecked."""

import multiprocessing
import os
import signal
import time

import openai
import pytest

from core.mock_openai.engine.atomic_files import atomic_writer
from core.mock_openai.engine.errors import MockAPIError
from core.mock_openai.engine.housekeeping import clean
from core.mock_openai.engine.storage import MockStorage, is_batch_id, is_file_id
from tests.mock_batch_helpers import embedding_request, read_lines, upload, write_jsonl

DAY = 24 * 3600


def test_atomic_writer_leaves_nothing_when_the_block_fails(tmp_path):
    target = tmp_path / "record.json"
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b'{"half":')
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_writer(target) as handle:
        handle.write(b"{}")
    assert target.read_bytes() == b"{}" and list(tmp_path.iterdir()) == [target]


def _upload_then_die(root):
    from core.mock_openai.client import MockOpenAIClient

    def chunks():
        yield b'{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {}}\n'
        os.kill(os.getpid(), signal.SIGKILL)  # the process dies mid-upload, without any cleanup
        yield b"never written"

    MockOpenAIClient(root=root).engine.files.create(chunks(), filename="in.jsonl", purpose="batch")


def test_a_crash_mid_upload_leaves_no_file(mock_client):
    child = multiprocessing.get_context("fork").Process(target=_upload_then_die, args=(mock_client.root,))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    leftovers = list((mock_client.root / "input_files").iterdir())
    assert leftovers and all(path.name.startswith(".tmp-") for path in leftovers)
    assert list(mock_client.files.list()) == []


def _retrieve(root, batch_id):
    from core.mock_openai.client import MockOpenAIClient

    MockOpenAIClient(root=root, failure_rate=0, workers=1).batches.retrieve(batch_id)


def test_a_crash_while_writing_results_leaves_no_output_and_the_batch_recovers(mock_client, tmp_path):
    requests = (embedding_request(f"r{i}", f"text number {i} " * 20, dimensions=256) for i in range(5_000))
    uploaded = upload(mock_client, write_jsonl(tmp_path / "big.jsonl", requests))
    batch = mock_client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    child = multiprocessing.get_context("fork").Process(target=_retrieve, args=(mock_client.root, batch.id))
    child.start()
    output_dir = mock_client.root / "output_files"
    deadline = time.monotonic() + 60
    while not any(output_dir.glob(".tmp-run-*/.tmp-*")):  # a segment being written in the run's directory
        assert time.monotonic() < deadline and child.is_alive(), "the child never started writing results"
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)

    [dead_run] = output_dir.iterdir()  # nothing published: only the dead run's private directory
    assert dead_run.is_dir() and dead_run.name.startswith(".tmp-run-")
    assert list(mock_client.engine.storage.stray_paths()) == [dead_run]
    assert [f.purpose for f in mock_client.files.list()] == ["batch"]
    stored = mock_client.engine.storage.batches.record(batch.id)["batch"]
    assert stored["status"] == "validating" and stored["output_file_id"] is None

    recovered = mock_client.batches.retrieve(batch.id)  # the dead child's lock went with it
    assert recovered.status == "completed" and recovered.request_counts.completed == 5_000
    assert len(read_lines(mock_client, recovered.output_file_id)) == 5_000

    # Housekeeping removes the dead run's directory once old, and nothing the finished batch uses.
    long_ago = time.time() - 2 * DAY
    for path in (dead_run, *dead_run.iterdir()):
        os.utime(path, (long_ago, long_ago))
    report = clean(mock_client.engine, DAY)
    assert report.stray_paths == 1 and report.batches == [] and report.files == []
    assert not dead_run.exists() and list(mock_client.engine.storage.stray_paths()) == []
    assert len(read_lines(mock_client, recovered.output_file_id)) == 5_000


@pytest.mark.parametrize(
    "value",
    ["../secret", "/etc/passwd", "file-../../../../etc/pas", "file-aaaaaaaaaaaaaaaaaaaaaaa\x00", "file-%2e%2e%2f",
     "file-aaaaaaaaaaaaaaaaaaaaaaaa\n", "batch_../../x", "", None, 42],
)  # fmt: skip
def test_ids_from_outside_are_matched_strictly(tmp_path, value):
    assert not is_file_id(value) and not is_batch_id(value)
    storage = MockStorage(tmp_path / "root")
    with pytest.raises(MockAPIError) as caught:
        storage.files.record(value)
    assert caught.value.status == 404
    with pytest.raises(MockAPIError):
        storage.batches.record(value)


def test_data_without_a_record_is_invisible(mock_client):
    orphan = mock_client.root / "input_files" / ("file-" + "b" * 24 + ".jsonl")
    orphan.write_bytes(b"{}\n")
    assert list(mock_client.files.list()) == []
    with pytest.raises(openai.NotFoundError):
        mock_client.files.content("file-" + "b" * 24)
