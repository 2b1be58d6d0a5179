"""Fidelity of the in-process mock Batch API to OpenAI's: shapes, lifecycle, validation, failures, paging."""

import multiprocessing
import re

import openai
import orjson
import pytest
from openai.pagination import SyncCursorPage
from openai.types import Batch, FileDeleted, FileObject

from core.mock_openai.engine.slices import PARALLEL_MIN_REQUESTS
from core.services.openai_limits import MAX_EMBEDDING_INPUTS, MAX_REQUESTS_PER_BATCH
from tests.mock_batch_helpers import (
    assert_matches_schema,
    by_custom_id,
    chat_request,
    embedding_request,
    read_lines,
    run_batch,
    upload,
    write_jsonl,
)


class FakeClock:
    """Wall time the test moves by hand (the engine reads time only through its clock)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def embeddings_file(tmp_path, count=20, name="in.jsonl", **body):
    requests = [
        embedding_request(f"req-{i}", f"python engineer {i} with django", dimensions=16, **body) for i in range(count)
    ]
    return write_jsonl(tmp_path / name, requests)


# --- shapes -----------------------------------------------------------------------------------------
def test_objects_have_the_sdk_types_and_match_the_openapi_schemas(mock_client_factory, tmp_path):
    client = mock_client_factory(failure_rate=0.3, seed=1)
    batch = run_batch(client, embeddings_file(tmp_path), metadata={"kind": "test"})
    assert isinstance(batch, Batch) and batch.status == "completed"
    assert_matches_schema(batch.model_dump(), "Batch")
    for file_id in (batch.input_file_id, batch.output_file_id, batch.error_file_id):
        file_object = client.files.retrieve(file_id)
        assert isinstance(file_object, FileObject)
        assert_matches_schema(file_object.model_dump(), "OpenAIFile")
    assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"
    assert client.files.retrieve(batch.error_file_id).purpose == "batch_output"
    page = client.batches.list()
    assert isinstance(page, SyncCursorPage)
    assert_matches_schema(
        {**page.model_dump(), "data": [b.model_dump(exclude_none=True) for b in page.data]}, "ListBatchesResponse"
    )
    files = client.files.list()
    assert_matches_schema(
        {**files.model_dump(), "data": [f.model_dump(exclude_none=True) for f in files.data]}, "ListFilesResponse"
    )
    for line in read_lines(client, batch.output_file_id):
        assert_matches_schema(line["response"]["body"], "CreateEmbeddingResponse")
    for line in read_lines(client, batch.error_file_id):
        assert_matches_schema(line["response"]["body"], "ErrorResponse")
    deleted = client.files.delete(batch.input_file_id)
    assert isinstance(deleted, FileDeleted) and deleted.deleted
    assert_matches_schema(deleted.model_dump(), "DeleteFileResponse")


def test_ids_timestamps_and_line_shapes(mock_client_factory, tmp_path):
    client = mock_client_factory(failure_rate=0.5, seed=2)
    requests = [chat_request(f"explain-{i}", "Candidate: Python, SQL\nJob: Python, Go, SQL") for i in range(12)]
    batch = run_batch(client, write_jsonl(tmp_path / "chat.jsonl", requests), "/v1/chat/completions")
    assert re.fullmatch(r"batch_[0-9a-f]{32}", batch.id) and re.fullmatch(r"file-[A-Za-z0-9]{24}", batch.output_file_id)
    assert batch.model == "gpt-4o-mini" and batch.expires_at == batch.created_at + 86_400
    for stamp in ("created_at", "in_progress_at", "finalizing_at", "completed_at"):
        assert isinstance(getattr(batch, stamp), int)
    assert batch.usage.input_tokens > 0 and batch.usage.output_tokens > 0
    assert batch.usage.total_tokens == batch.usage.input_tokens + batch.usage.output_tokens
    for line in read_lines(client, batch.output_file_id):
        assert re.fullmatch(r"batch_req_[0-9a-f]{32}", line["id"]) and line["error"] is None
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"].startswith("req_")
        body = line["response"]["body"]
        assert body["id"].startswith("chatcmpl-")
        assert_matches_schema(body, "CreateChatCompletionResponse")
    for line in read_lines(client, batch.error_file_id):
        assert line["response"]["status_code"] in (500, 503)
        assert set(line["response"]["body"]["error"]) == {"message", "type", "param", "code"}


def test_output_order_is_not_input_order(mock_client, tmp_path):
    batch = run_batch(mock_client, embeddings_file(tmp_path, count=40))
    order = [line["custom_id"] for line in read_lines(mock_client, batch.output_file_id)]
    assert sorted(order) == sorted(f"req-{i}" for i in range(40)) and order != [f"req-{i}" for i in range(40)]


# --- lifecycle --------------------------------------------------------------------------------------
def test_latency_zero_completes_on_first_retrieve(mock_client, tmp_path):
    uploaded = upload(mock_client, embeddings_file(tmp_path))
    batch = mock_client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    assert batch.status == "validating" and batch.request_counts.total == 0
    assert mock_client.batches.retrieve(batch.id).status == "completed"


def test_status_walk_with_latency_shows_every_state_and_growing_counts(mock_client_factory, tmp_path):
    clock = FakeClock()
    client = mock_client_factory(latency=100, failure_rate=0.1, clock=clock)
    uploaded = upload(client, embeddings_file(tmp_path, count=200))
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    seen = []
    for _ in range(12):
        batch = client.batches.retrieve(batch.id)
        seen.append((batch.status, batch.request_counts.completed + batch.request_counts.failed))
        clock.now += 9.5
    statuses = [status for status, _ in seen]
    assert statuses[0] == "validating" and statuses[-1] == "completed"
    assert {"in_progress", "finalizing"} <= set(statuses)
    done = [count for status, count in seen if status == "in_progress"]
    assert done == sorted(done) and done[0] < done[-1] < 200
    assert batch.in_progress_at < batch.finalizing_at < batch.completed_at
    assert batch.request_counts.total == 200


def test_latency_is_wall_time(mock_client_factory, tmp_path):
    client = mock_client_factory(latency=0.6, failure_rate=0)
    uploaded = upload(client, embeddings_file(tmp_path))
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    assert client.batches.retrieve(batch.id).status in ("validating", "in_progress")
    batch = run_batch(client, embeddings_file(tmp_path, name="again.jsonl"))
    assert batch.status == "completed"


def test_cancel_in_progress_keeps_partial_results(mock_client_factory, tmp_path):
    clock = FakeClock()
    client = mock_client_factory(latency=100, failure_rate=0, clock=clock)
    uploaded = upload(client, embeddings_file(tmp_path, count=100))
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    clock.now += 45  # half-way through in_progress (10 s .. 80 s)
    assert client.batches.retrieve(batch.id).status == "in_progress"
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at == int(clock.now)
    clock.now += 20
    cancelled = client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    results = read_lines(client, cancelled.output_file_id)
    assert len(results) == cancelled.request_counts.completed == 50
    assert cancelled.error_file_id is None and cancelled.request_counts.total == 100
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)


def test_cancel_before_validation_runs_nothing(mock_client_factory, tmp_path):
    clock = FakeClock()
    client = mock_client_factory(latency=100, clock=clock)
    uploaded = upload(client, embeddings_file(tmp_path))
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    assert client.batches.cancel(batch.id).status == "cancelling"
    clock.now += 11
    cancelled = client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.output_file_id is None and cancelled.in_progress_at is None


def test_cancel_with_latency_zero_keeps_everything(mock_client, tmp_path):
    uploaded = upload(mock_client, embeddings_file(tmp_path))
    batch = mock_client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    assert mock_client.batches.cancel(batch.id).status in ("cancelling", "cancelled")
    cancelled = mock_client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.request_counts.completed == 20


@pytest.mark.parametrize("how", ["metadata", "setting"])
def test_expiry_on_demand(mock_client_factory, tmp_path, how):
    client = mock_client_factory(failure_rate=0, expire=how == "setting")
    metadata = {"mock_scenario": "expire"} if how == "metadata" else openai.omit
    batch = run_batch(client, embeddings_file(tmp_path, count=30), metadata=metadata)
    assert batch.status == "expired" and batch.expired_at is not None
    finished = by_custom_id(read_lines(client, batch.output_file_id))
    expired = by_custom_id(read_lines(client, batch.error_file_id))
    assert len(finished) == 15 and set(finished).isdisjoint(expired) and len(finished) + len(expired) == 30
    for line in expired.values():
        assert line["response"] is None and line["error"]["code"] == "batch_expired"
    assert (batch.request_counts.completed, batch.request_counts.failed) == (15, 15)


def test_enqueued_token_limit(mock_client_factory, tmp_path):
    client = mock_client_factory(enqueued_token_limit=50)
    batch = run_batch(client, embeddings_file(tmp_path, count=30))
    assert batch.status == "failed" and batch.errors.data[0].code == "token_limit_exceeded"
    assert mock_client_factory(enqueued_token_limit=10**6).batches.retrieve(batch.id).status == "failed"


# --- validation while `validating` --------------------------------------------------------------------
def _line(custom_id="a", **overrides):
    return {**embedding_request(custom_id, "text"), **overrides}


INVALID_FILES = {
    "invalid_json_line": ([orjson.dumps(_line("a")) + b"\n", b'{"custom_id": "b", oops\n'], 2),
    "missing_custom_id": ([{k: v for k, v in _line().items() if k != "custom_id"}], 1),
    "duplicate_custom_id": ([_line("a"), _line("b"), _line("a")], 3),
    "invalid_method": ([_line("a"), _line("b", method="GET")], 2),
    "mismatched_endpoint": ([_line("a", url="/v1/chat/completions")], 1),
    "mismatched_model": ([_line("a"), {**_line("b"), "body": {"model": "text-embedding-3-large", "input": "x"}}], 2),
}


@pytest.mark.parametrize("code", sorted(INVALID_FILES))
def test_invalid_input_files_fail_the_batch_with_line_numbers(mock_client, tmp_path, code):
    lines, line_number = INVALID_FILES[code]
    batch = run_batch(mock_client, write_jsonl(tmp_path / "bad.jsonl", lines))
    assert batch.status == "failed" and batch.failed_at is not None and batch.output_file_id is None
    error = batch.errors.data[0]
    assert (error.code, error.line) == (code, line_number) and error.message
    assert_matches_schema(batch.model_dump(), "Batch")


def test_too_many_requests_and_embedding_inputs(mock_client, tmp_path):
    many = (embedding_request(f"r{i}", "x") for i in range(MAX_REQUESTS_PER_BATCH + 1))
    batch = run_batch(mock_client, write_jsonl(tmp_path / "many.jsonl", many))
    assert batch.status == "failed" and batch.errors.data[0].code == "too_many_requests"
    assert batch.errors.data[0].line == MAX_REQUESTS_PER_BATCH + 1
    inputs = (embedding_request(f"r{i}", ["x"] * 1000) for i in range(MAX_EMBEDDING_INPUTS // 1000 + 1))
    batch = run_batch(mock_client, write_jsonl(tmp_path / "inputs.jsonl", inputs))
    assert batch.status == "failed" and batch.errors.data[0].code == "too_many_embedding_inputs"


def test_file_over_200_mb_fails(mock_client, tmp_path):
    path = tmp_path / "huge.jsonl"
    padding = "x" * 1_000_000
    write_jsonl(path, (embedding_request(f"r{i}", "y", user=padding) for i in range(211)))  # > 200 MiB
    batch = run_batch(mock_client, path)
    assert batch.status == "failed" and batch.errors.data[0].code == "file_too_large"


# --- refused at create --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"endpoint": "/v1/audio/speech"}, "endpoint"),
        ({"completion_window": "48h"}, "completion_window"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k"),
    ],
)
def test_bad_create_parameters_are_refused(mock_client, tmp_path, change, param):
    uploaded = upload(mock_client, embeddings_file(tmp_path))
    arguments = {"input_file_id": uploaded.id, "endpoint": "/v1/embeddings", "completion_window": "24h", **change}
    with pytest.raises(openai.BadRequestError) as caught:
        mock_client.batches.create(**arguments)
    assert caught.value.status_code == 400 and caught.value.param == param
    assert caught.value.body["type"] == "invalid_request_error"
    assert list(mock_client.batches.list()) == []


def test_input_file_must_exist_and_have_purpose_batch(mock_client, tmp_path):
    with pytest.raises(openai.NotFoundError):
        mock_client.batches.create(input_file_id="file-" + "a" * 24, endpoint="/v1/embeddings", completion_window="24h")
    other = mock_client.files.create(file=("notes.jsonl", b"{}\n"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        mock_client.batches.create(input_file_id=other.id, endpoint="/v1/embeddings", completion_window="24h")
    with pytest.raises(openai.BadRequestError, match="jsonl"):
        mock_client.files.create(file=("notes.txt", b"{}\n"), purpose="batch")


# --- per-request results --------------------------------------------------------------------------------
def test_failure_injection_is_deterministic_and_near_the_rate(mock_client_factory, tmp_path):
    path = embeddings_file(tmp_path, count=2000)

    def failed_ids(root, **options):
        client = mock_client_factory(root=tmp_path / root, **options)
        batch = run_batch(client, path)
        return set(by_custom_id(read_lines(client, batch.error_file_id))) if batch.error_file_id else set()

    # Fresh roots: a root remembers the failures it served, so that retries draw anew.
    failed = [failed_ids("a", failure_rate=0.05, seed=11), failed_ids("b", failure_rate=0.05, seed=11)]
    assert failed[0] == failed[1] and 60 <= len(failed[0]) <= 140
    assert failed_ids("c", failure_rate=0.05, seed=12) != failed[0]
    assert failed_ids("d", failure_rate=0.0) == set()


def test_invalid_requests_fail_whatever_the_rate(mock_client, tmp_path):
    requests = [
        embedding_request("ok", "fine"),
        {**embedding_request("no-input", "x"), "body": {"model": "text-embedding-3-small"}},
        embedding_request("too-long", "word " * 9000),
    ]
    batch = run_batch(mock_client, write_jsonl(tmp_path / "mixed.jsonl", requests))
    errors = by_custom_id(read_lines(mock_client, batch.error_file_id))
    assert set(errors) == {"no-input", "too-long"}
    assert errors["no-input"]["response"]["status_code"] == 400
    assert errors["no-input"]["response"]["body"]["error"]["param"] == "input"
    assert errors["too-long"]["response"]["body"]["error"]["code"] == "context_length_exceeded"
    assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 2)


def test_same_file_same_seed_same_response_bodies(mock_client, tmp_path):
    path = embeddings_file(tmp_path, count=30, encoding_format="base64")
    first, second = run_batch(mock_client, path), run_batch(mock_client, path)
    bodies = [
        {
            line["custom_id"]: orjson.dumps(line["response"]["body"])
            for line in read_lines(mock_client, b.output_file_id)
        }
        for b in (first, second)
    ]
    assert bodies[0] == bodies[1]
    assert read_lines(mock_client, first.output_file_id)[0]["id"] not in {
        line["id"] for line in read_lines(mock_client, second.output_file_id)
    }


def test_large_batch_runs_in_parallel_slices_with_the_same_results(mock_client_factory, tmp_path):
    count = PARALLEL_MIN_REQUESTS + 100
    path = write_jsonl(
        tmp_path / "big.jsonl", (embedding_request(f"r{i}", f"word{i % 97} text", dimensions=4) for i in range(count))
    )
    # Two fresh roots: a root remembers injected failures, so a second run in one root would be a retry.
    parallel_client = mock_client_factory(root=tmp_path / "parallel", workers=2, failure_rate=0.05)
    serial_client = mock_client_factory(root=tmp_path / "serial", workers=1, failure_rate=0.05)
    parallel, serial = run_batch(parallel_client, path), run_batch(serial_client, path)
    assert parallel.request_counts == serial.request_counts and parallel.request_counts.total == count
    lines = [
        by_custom_id(read_lines(client, b.output_file_id))
        for client, b in ((parallel_client, parallel), (serial_client, serial))
    ]
    assert {k: v["response"]["body"] for k, v in lines[0].items()} == {
        k: v["response"]["body"] for k, v in lines[1].items()
    }
    assert parallel_client.files.retrieve(parallel.output_file_id).bytes == len(
        parallel_client.files.content(parallel.output_file_id).content
    )


def _retrieve_in_child(root, batch_id, queue):
    from core.mock_openai.client import MockOpenAIClient

    queue.put(MockOpenAIClient(root=root, failure_rate=0).batches.retrieve(batch_id).output_file_id)


def test_concurrent_retrievers_in_several_processes_run_the_batch_once(mock_client, tmp_path):
    uploaded = upload(mock_client, embeddings_file(tmp_path, count=300))
    batch = mock_client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_retrieve_in_child, args=(mock_client.root, batch.id, queue)) for _ in range(3)]
    for child in children:
        child.start()
    output_ids = {queue.get(timeout=60) for _ in children}
    for child in children:
        child.join(timeout=60)
    assert len(output_ids) == 1
    outputs = [f for f in mock_client.files.list(purpose="batch_output")]
    assert [f.id for f in outputs] == list(output_ids)


# --- lists ------------------------------------------------------------------------------------------
def test_batch_list_is_newest_first_with_cursor_pagination(mock_client_factory, tmp_path):
    client = mock_client_factory(latency=60)
    uploaded = upload(client, embeddings_file(tmp_path))
    ids = [
        client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h").id
        for _ in range(5)
    ]
    newest_first = ids[::-1]
    page = client.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2] and page.has_more
    assert (page.first_id, page.last_id) == (newest_first[0], newest_first[1])
    assert [b.id for b in client.batches.list(limit=2, after=newest_first[1]).data] == newest_first[2:4]
    last = client.batches.list(limit=2, after=newest_first[3])
    assert [b.id for b in last.data] == newest_first[4:] and not last.has_more
    assert [b.id for b in client.batches.list(limit=2)] == newest_first  # iterating walks every page
    with pytest.raises(openai.BadRequestError):
        client.batches.list(limit=101)


def test_file_list_filters_orders_and_deletes(mock_client, tmp_path):
    first = upload(mock_client, embeddings_file(tmp_path))
    second = mock_client.files.create(file=("cv.pdf", b"%PDF-1.4"), purpose="user_data")
    assert [f.id for f in mock_client.files.list().data] == [second.id, first.id]
    assert [f.id for f in mock_client.files.list(order="asc").data] == [first.id, second.id]
    assert [f.id for f in mock_client.files.list(purpose="batch").data] == [first.id]
    assert mock_client.files.content(second.id).content == b"%PDF-1.4"
    mock_client.files.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        mock_client.files.retrieve(second.id)
    with pytest.raises(openai.NotFoundError):
        mock_client.files.content(second.id)


def test_streamed_content_and_write_to_file(mock_client, tmp_path):
    batch = run_batch(mock_client, embeddings_file(tmp_path, count=50))
    whole = mock_client.files.content(batch.output_file_id)
    with mock_client.files.with_streaming_response.content(batch.output_file_id) as response:
        streamed = b"".join(response.iter_bytes(1024))
    assert streamed == whole.content == whole.read() and whole.text.count("\n") == 50
    assert list(whole.iter_lines())[0] == whole.text.splitlines()[0]
    whole.write_to_file(tmp_path / "copy.jsonl")
    assert (tmp_path / "copy.jsonl").read_bytes() == streamed


def _failed_ids(client, path):
    batch = run_batch(client, path)
    return {line["custom_id"] for line in read_lines(client, batch.error_file_id)}


def test_a_retried_request_draws_its_failure_anew_and_runs_repeat_exactly(mock_client_factory, tmp_path):
    def attempts(root):
        client = mock_client_factory(root=root, failure_rate=0.3, seed=11)
        ids = [f"cv-{n}" for n in range(300)]
        history = []
        for attempt in range(3):
            path = write_jsonl(
                tmp_path / f"{root.name}-{attempt}.jsonl", [embedding_request(cid, "nurse") for cid in ids]
            )
            failed = _failed_ids(client, path)
            history.append(failed)
            ids = sorted(failed)  # retry only what failed, under the same custom_ids
        return history

    first, second = attempts(tmp_path / "root-a"), attempts(tmp_path / "root-b")
    assert first == second  # the same sequence of batches fails the same requests
    assert 60 < len(first[0]) < 120  # about 30% of 300
    assert 0 < len(first[1]) < len(first[0]) * 0.5  # a retry fails again only about 30% of the time
    assert first[2] < first[1]


def test_a_failure_rate_of_one_fails_every_retry(mock_client_factory, tmp_path):
    client = mock_client_factory(failure_rate=1.0, seed=0)
    for attempt in range(3):
        path = write_jsonl(tmp_path / f"{attempt}.jsonl", [embedding_request("cv-1", "text")])
        assert _failed_ids(client, path) == {"cv-1"}
