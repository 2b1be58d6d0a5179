"""Record and replay: the real backend (`BatchService` on an `openai.OpenAI` client; here pointed at the HTTP
mock, standing in for OpenAI) records cassettes; the mock replays them byte for byte, over HTTP and in
process, synthesising (or, strictly, refusing) what was not recorded."""

import json
import time

import openai
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.cassettes import load_cassettes, raw_body
from core.services.batch_service import BatchService
from tests.fuzz_budget import FUZZ
from tests.mock_batch_helpers import TERMINAL, assert_matches_schema, by_custom_id, chat_request, read_lines, upload
from tests.mock_batch_helpers import write_jsonl as write_requests

RECORDED_AT = 1_900_000_000.0
REPLAYED_AT = RECORDED_AT + 10 * 24 * 3600


def _requests(*named: tuple[str, str]) -> list[dict]:
    return [chat_request(custom_id, f"Summarise this CV: {text}", max_tokens=50) for custom_id, text in named]


def _record(http_mock_openai, settings, tmp_path):
    """One batch through BatchService on the SDK client, recording on; c-2 answered 429 when recorded."""
    settings.MOCK_BATCH_FAILURE_RATE = 0.0
    settings.OPENAI_RECORD_CASSETTES_DIR = tmp_path / "cassettes"
    http_mock_openai.post("/mock/clock/freeze", body={"at": RECORDED_AT}, cast_to=object)
    service = BatchService(client=http_mock_openai)
    assert service.backend == "openai" and service.recorder is not None
    stats = service.write_batch_file(_requests(("c-1", "nurse, 10 years"), ("c-2", "welder")), tmp_path / "rec.jsonl")
    uploaded = service.upload_file(stats.path)
    batch = service.create_batch(uploaded.id, "/v1/chat/completions", {"mock_script": '{"c-2": "rate_limit_exceeded"}'})
    deadline = time.monotonic() + 60
    while batch.status not in TERMINAL:
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        batch = service.retrieve_batch(batch.id)
    recorded = {}
    for file_id in (batch.output_file_id, batch.error_file_id):
        recorded |= by_custom_id(list(service.iter_file_lines(file_id)))
    return recorded


@pytest.fixture(params=["in_process", "http"])
def replay_client(request, settings, tmp_path, mock_client_factory):
    """A mock client replaying `tmp_path/cassettes` (switched on once the recording is done)."""

    def make(strict: bool = False):
        if request.param == "in_process":
            cassettes = tmp_path / "cassettes"
            return mock_client_factory(
                root=tmp_path / "replay", failure_rate=0.0, cassettes_dir=cassettes, cassettes_strict=strict
            )
        settings.MOCK_OPENAI_CASSETTES_DIR = tmp_path / "cassettes"
        settings.MOCK_OPENAI_CASSETTES_STRICT = strict
        return request.getfixturevalue("http_mock_openai")

    return make


def _replay(client, tmp_path, requests, name="replay.jsonl"):
    if hasattr(client, "mock"):
        client.mock.freeze_clock(REPLAYED_AT)
    else:
        client.post("/mock/clock/freeze", body={"at": REPLAYED_AT}, cast_to=object)
    uploaded = upload(client, write_requests(tmp_path / name, requests))
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert_matches_schema(batch.model_dump(), "Batch")
    raw = client.files.content(batch.output_file_id).content if batch.output_file_id else b""
    lines = by_custom_id(read_lines(client, batch.output_file_id) + read_lines(client, batch.error_file_id))
    return lines, raw


def test_recorded_answers_are_replayed_byte_for_byte_and_the_rest_synthesised(
    http_mock_openai, replay_client, settings, tmp_path
):
    recorded = _record(http_mock_openai, settings, tmp_path)
    cassette = load_cassettes(tmp_path / "cassettes")
    assert len(cassette) == 2 and {answer.status for answer in cassette.values()} == {200, 429}
    settings.OPENAI_RECORD_CASSETTES_DIR = None

    client = replay_client()
    same = _requests(("r-1", "nurse, 10 years"), ("r-2", "welder"), ("r-3", "a request never recorded"))
    lines, raw = _replay(client, tmp_path, same)
    replayed = lines["r-1"]["response"]["body"]
    assert replayed == recorded["c-1"]["response"]["body"] and replayed["created"] == int(RECORDED_AT)
    [body_bytes] = [answer.body for answer in cassette.values() if answer.status == 200]
    assert body_bytes in raw  # the very bytes recorded
    assert lines["r-2"]["response"]["status_code"] == 429  # recorded as a failure, replayed as one
    assert lines["r-2"]["response"]["body"]["error"]["code"] == "rate_limit_exceeded"
    synthesised = lines["r-3"]["response"]
    assert synthesised["status_code"] == 200 and synthesised["body"]["created"] == int(REPLAYED_AT)
    assert_matches_schema(synthesised["body"], "CreateChatCompletionResponse")


def test_strict_replay_refuses_what_was_not_recorded(http_mock_openai, replay_client, settings, tmp_path):
    _record(http_mock_openai, settings, tmp_path)
    settings.OPENAI_RECORD_CASSETTES_DIR = None
    client = replay_client(strict=True)
    lines, _ = _replay(client, tmp_path, _requests(("r-1", "nurse, 10 years"), ("r-3", "never recorded")))
    assert lines["r-1"]["response"]["status_code"] == 200
    refused = lines["r-3"]["response"]
    assert refused["status_code"] == 400 and refused["body"]["error"]["code"] == "request_not_recorded"
    assert_matches_schema(refused["body"], "ErrorResponse")


def test_a_broken_cassette_names_its_file_and_line(tmp_path):
    good = {"key": "k", "url": "/v1/embeddings", "status_code": 200, "body_json": "{}"}
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(good) + b"\n")
    (tmp_path / "b.jsonl").write_bytes(b"\n{not json\n")
    with pytest.raises(ValueError, match=r"b\.jsonl:2: not a cassette line"):
        load_cassettes(tmp_path)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(
    body=st.dictionaries(st.text(max_size=8), _JSON, max_size=5),
    custom_id=st.text(max_size=20),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]),
    ensure_ascii=st.booleans(),
)
def test_raw_body_is_the_lines_own_bytes_of_the_body(body, custom_id, separators, ensure_ascii):
    """Whatever the spacing, escaping and custom_id (even one spelling `"body"`), the bytes found are the
    body's own in the line."""
    dump = lambda value: json.dumps(value, separators=separators, ensure_ascii=ensure_ascii)  # noqa: E731
    body_text = dump(body)
    line = (
        f'{{"id"{separators[1]}"batch_req_1"{separators[0]}"custom_id"{separators[1]}{dump(custom_id)}'
        f'{separators[0]}"response"{separators[1]}{{"status_code"{separators[1]}200{separators[0]}'
        f'"body"{separators[1]}{body_text}}}{separators[0]}"error"{separators[1]}null}}'
    ).encode()
    parsed = orjson.loads(line)["response"]["body"]
    assert raw_body(line, parsed) == body_text.encode()


def test_a_broken_cassette_is_a_500_naming_it_and_the_batch_runs_once_mended(replay_client, tmp_path):
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    (cassettes / "broken.jsonl").write_bytes(b"{not json\n")
    client = replay_client()
    uploaded = upload(client, write_requests(tmp_path / "in.jsonl", _requests(("r-1", "nurse"))))
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.InternalServerError, match=r"broken\.jsonl:1: not a cassette line"):
        client.batches.retrieve(batch.id)
    (cassettes / "broken.jsonl").unlink()
    assert client.batches.retrieve(batch.id).status == "completed"
