"""The mock as a test double (issue 12): scripted outcomes, the test clock, the shapes that crash clients
and the organisation queue, each through the official `openai` SDK over HTTP and in process."""

import openai
import pytest

from core.mock_openai.engine.scripted_outcomes import SCRIPTED_ERRORS
from core.services.openai_limits import estimate_request_tokens
from tests.mock_batch_helpers import (
    assert_matches_schema,
    by_custom_id,
    embedding_request,
    read_lines,
    upload,
    write_jsonl,
)

DAY = 24 * 3600
START = 1_900_000_000.0


class Api:
    """The SDK client of one transport, and the test's controls on the same mock root."""

    def __init__(self, client, transport: str):
        self.client = client
        self.transport = transport

    def control(self, operation: str, path: str, **body) -> dict:
        if self.transport == "in_process":
            return getattr(self.client.mock, operation)(*body.values())
        if operation == "script":
            return self.client.get(path, cast_to=object)
        return self.client.post(path, body=body, cast_to=object)

    def set_script(self, rules: dict) -> dict:
        return self.control("set_script", "/mock/script", rules=rules)

    def freeze_clock(self, at: float = START) -> dict:
        return self.control("freeze_clock", "/mock/clock/freeze", at=at)

    def advance_clock(self, seconds: float) -> dict:
        return self.control("advance_clock", "/mock/clock/advance", seconds=seconds)

    def create(self, tmp_path, requests, name="in.jsonl", **metadata):
        uploaded = upload(self.client, write_jsonl(tmp_path / name, requests))
        return self.client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/embeddings",
            completion_window="24h",
            metadata=metadata or openai.omit,
        )

    def retrieve(self, batch):
        batch = self.client.batches.retrieve(batch.id)
        assert_matches_schema(batch.model_dump(), "Batch")
        return batch


@pytest.fixture(params=["in_process", "http"])
def api(request, settings, mock_client_factory):
    settings.MOCK_BATCH_FAILURE_RATE = 0.0
    settings.MOCK_BATCH_LATENCY = 0.0
    if request.param == "in_process":
        return Api(mock_client_factory(), "in_process")
    return Api(request.getfixturevalue("http_mock_openai"), "http")


def requests_for(*custom_ids: str) -> list[dict]:
    return [embedding_request(custom_id, f"python developer {custom_id}", dimensions=8) for custom_id in custom_ids]


def lines_of(api: Api, batch) -> tuple[dict, dict]:
    return by_custom_id(read_lines(api.client, batch.output_file_id)), by_custom_id(
        read_lines(api.client, batch.error_file_id)
    )


# --- scripted outcomes ------------------------------------------------------------------------------
def test_script_in_metadata_fails_named_requests_on_named_attempts(api, tmp_path):
    ids = [f"cv-{i}" for i in range(10)]
    script = '{"cv-7": ["rate_limit_exceeded", "ok"], "cv-9": "context_length_exceeded"}'
    batch = api.retrieve(api.create(tmp_path, requests_for(*ids), mock_script=script))
    assert batch.status == "completed" and batch.request_counts.failed == 2
    output, errors = lines_of(api, batch)
    assert set(output) == set(ids) - {"cv-7", "cv-9"} and set(errors) == {"cv-7", "cv-9"}
    first = errors["cv-7"]["response"]
    assert first["status_code"] == 429 and first["body"]["error"]["code"] == "rate_limit_exceeded"
    assert errors["cv-9"]["response"]["status_code"] == 400
    assert errors["cv-9"]["response"]["body"]["error"]["code"] == "context_length_exceeded"
    for line in errors.values():
        assert_matches_schema(line["response"]["body"], "ErrorResponse")

    retry = api.retrieve(api.create(tmp_path, requests_for("cv-7", "cv-9"), "retry.jsonl", mock_script=script))
    output, errors = lines_of(api, retry)
    assert set(output) == {"cv-7"} and set(errors) == {"cv-9"}  # cv-7's second attempt succeeds
    assert_matches_schema(output["cv-7"]["response"]["body"], "CreateEmbeddingResponse")


def test_root_script_covers_every_batch_error_and_patterns(api, tmp_path):
    rules = {f"r-{code}": code for code in SCRIPTED_ERRORS} | {"glob-*": "server_error", "*": "ok"}
    answer = api.set_script(rules)
    assert answer["object"] == "mock.script" and len(answer["rules"]) == len(rules)
    ids = [f"r-{code}" for code in SCRIPTED_ERRORS] + ["glob-1", "glob-2", "plain"]
    batch = api.retrieve(api.create(tmp_path, requests_for(*ids)))
    output, errors = lines_of(api, batch)
    assert set(output) == {"plain"} and batch.request_counts.failed == len(ids) - 1
    for code, expected in SCRIPTED_ERRORS.items():
        line = errors[f"r-{code}"]
        if expected.status is None:  # never ran: OpenAI's line has an error and no response
            assert line["response"] is None and line["error"]["code"] == code
            continue
        assert line["error"] is None and line["response"]["status_code"] == expected.status
        body = line["response"]["body"]
        assert body["error"]["code"] == code and body["error"]["type"] == expected.error_type
        assert_matches_schema(body, "ErrorResponse")
    assert errors["glob-2"]["response"]["body"]["error"]["code"] == "server_error"


def test_a_bad_script_is_refused_naming_the_field(api, tmp_path):
    with pytest.raises(openai.BadRequestError) as refused:
        api.create(tmp_path, requests_for("a"), mock_script='{"a": "teapot"}')
    assert refused.value.body["param"] == "metadata.mock_script" and "'teapot'" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        api.create(tmp_path, requests_for("a"), mock_script="{not json")
    assert "not valid JSON" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        api.set_script({"a": ["ok", "nope"]})
    assert refused.value.body["param"] == "rules" and "'nope'" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        api.create(tmp_path, requests_for("a"), mock_scenario="sideways")
    assert refused.value.body["param"] == "metadata.mock_scenario"


# --- the test clock ---------------------------------------------------------------------------------
def test_the_clock_walks_a_slow_batch_without_sleeping(api, tmp_path):
    api.freeze_clock()
    batch = api.create(tmp_path, requests_for(*[f"c-{i}" for i in range(20)]), mock_latency="3600")
    assert batch.created_at == int(START) and batch.expires_at == int(START) + DAY
    assert api.retrieve(batch).status == "validating"
    api.advance_clock(360 + 1260)  # validated at 10%, half way through in_progress
    running = api.retrieve(batch)
    assert running.status == "in_progress" and running.in_progress_at == int(START) + 360
    assert running.request_counts.total == 20 and running.request_counts.completed == 10
    api.advance_clock(1270)  # past 80%: finalizing
    finalizing = api.retrieve(batch)
    assert finalizing.status == "finalizing" and finalizing.finalizing_at == int(START) + 2880
    assert api.advance_clock(710)["now"] == START + 3600
    done = api.retrieve(batch)
    assert done.status == "completed" and done.completed_at == int(START) + 3600
    assert done.request_counts.completed == 20


def test_expires_at_is_enforced_by_the_clock(api, tmp_path):
    api.freeze_clock()
    ids = [f"e-{i}" for i in range(10)]
    batch = api.create(tmp_path, requests_for(*ids), mock_latency=str(5 * DAY))  # would finish after 24 h
    api.advance_clock(DAY - 1)
    assert api.retrieve(batch).status == "in_progress"
    api.advance_clock(1)
    expired = api.retrieve(batch)
    assert expired.status == "expired" and expired.expired_at == expired.expires_at == int(START) + DAY
    output, errors = lines_of(api, expired)
    # By the deadline a seventh of the requests had run (12 h of the 3.5 days in progress).
    assert len(output) == expired.request_counts.completed == 1
    assert set(output) | set(errors) == set(ids)
    assert {line["error"]["code"] for line in errors.values()} == {"batch_expired"}


# --- the shapes that crash clients ------------------------------------------------------------------
def test_completed_batch_where_every_line_failed_has_no_output_file(api, tmp_path):
    batch = api.retrieve(api.create(tmp_path, requests_for("a", "b", "c"), mock_script='{"*": "server_error"}'))
    assert batch.status == "completed" and batch.output_file_id is None and batch.error_file_id
    assert batch.request_counts.completed == 0 and batch.request_counts.failed == 3
    assert set(lines_of(api, batch)[1]) == {"a", "b", "c"}


def test_stuck_in_progress_expires_with_its_finished_lines(api, tmp_path):
    api.freeze_clock()
    ids = [f"s-{i}" for i in range(10)]
    batch = api.create(tmp_path, requests_for(*ids), mock_scenario="stuck_in_progress")
    api.advance_clock(DAY - 1)
    stuck = api.retrieve(batch)
    assert stuck.status == "in_progress" and stuck.request_counts.completed == 5
    api.advance_clock(1)
    expired = api.retrieve(batch)
    assert expired.status == "expired" and expired.output_file_id is not None
    output, errors = lines_of(api, expired)
    assert len(output) == 5 and len(errors) == 5 and set(output) | set(errors) == set(ids)


def test_stuck_finalizing_stays_finalizing_until_it_expires(api, tmp_path):
    api.freeze_clock()
    batch = api.create(tmp_path, requests_for("f-1", "f-2"), mock_scenario="stuck_finalizing", mock_latency="60")
    api.advance_clock(3600)
    assert api.retrieve(batch).status == "finalizing"
    api.advance_clock(DAY - 3600 - 1)
    assert api.retrieve(batch).status == "finalizing"
    api.advance_clock(1)
    expired = api.retrieve(batch)
    assert expired.status == "expired" and expired.completed_at is None
    assert set(lines_of(api, expired)[0]) == {"f-1", "f-2"}


def test_cancelled_batch_keeps_its_finished_lines(api, tmp_path):
    api.freeze_clock()
    ids = [f"k-{i}" for i in range(10)]
    batch = api.create(tmp_path, requests_for(*ids), mock_latency="1000")
    api.advance_clock(100 + 420)  # 60% of in_progress
    assert api.retrieve(batch).status == "in_progress"
    assert api.client.batches.cancel(batch.id).status == "cancelling"
    cancelled = api.retrieve(batch)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == int(START) + 520
    output, errors = lines_of(api, cancelled)
    assert len(output) == cancelled.request_counts.completed == 6 and errors == {}


def test_output_lines_come_in_another_order_than_the_input(api, tmp_path):
    ids = [f"o-{i:02d}" for i in range(30)]
    batch = api.retrieve(api.create(tmp_path, requests_for(*ids)))
    order = [line["custom_id"] for line in read_lines(api.client, batch.output_file_id)]
    assert sorted(order) == ids and order != ids


# --- the organisation queue -------------------------------------------------------------------------
def _queue_api(api: Api, settings, mock_client_factory, **limits) -> Api:
    """`api` with organisation queue limits (the HTTP engine reads them from the settings)."""
    if api.transport == "in_process":
        return Api(mock_client_factory(**limits), "in_process")
    for name, value in limits.items():
        setattr(settings, f"MOCK_BATCH_{name.upper()}", value)
    return api


def test_enqueued_token_limit_counts_every_batch_in_flight(api, tmp_path, settings, mock_client_factory):
    requests = requests_for(*[f"t-{i}" for i in range(4)])
    tokens = sum(estimate_request_tokens("/v1/embeddings", request["body"]) for request in requests)
    api = _queue_api(api, settings, mock_client_factory, enqueued_token_limit=tokens * 3 // 2)
    api.freeze_clock()
    first = api.create(tmp_path, requests, "first.jsonl", mock_latency="1000")
    api.advance_clock(100)
    assert api.retrieve(first).status == "in_progress"  # alone, it fits
    second = api.retrieve(api.create(tmp_path, requests, "second.jsonl"))
    assert second.status == "failed"
    [error] = second.errors.data
    assert error.code == "token_limit_exceeded" and error.line is None
    assert f"Limit: {tokens * 3 // 2:,} enqueued tokens" in error.message
    api.advance_clock(900)  # the first batch's walk is over, polled or not: the queue is free
    third = api.retrieve(api.create(tmp_path, requests, "third.jsonl"))
    assert third.status == "completed"
    assert api.retrieve(first).status == "completed"


def test_enqueued_request_limit_of_embeddings(api, tmp_path, settings, mock_client_factory):
    api = _queue_api(api, settings, mock_client_factory, enqueued_request_limit=3)
    api.freeze_clock()
    first = api.create(tmp_path, requests_for("a", "b"), "first.jsonl", mock_latency="1000")
    api.advance_clock(100)
    assert api.retrieve(first).status == "in_progress"
    refused = api.retrieve(api.create(tmp_path, requests_for("c", "d"), "second.jsonl"))
    assert refused.status == "failed" and refused.errors.data[0].code == "request_limit_exceeded"
    assert api.retrieve(api.create(tmp_path, requests_for("e"), "third.jsonl")).status == "completed"
