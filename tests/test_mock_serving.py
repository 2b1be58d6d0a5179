"""The mock for other projects: the pytest plugin's fixtures and `manage.py serve_mock_openai`, used through
the official SDK configured by nothing but OPENAI_BASE_URL and OPENAI_API_KEY."""

import subprocess
import sys

import openai
import orjson

from core.mock_openai.pytest_plugin import mock_openai, mock_openai_server  # noqa: F401 (fixtures)
from tests.mock_batch_helpers import assert_matches_schema, embedding_request, read_lines, upload, write_jsonl

SDK_SECONDS = 120  # a hung server fails the test with its output instead of hanging the suite
SDK_SCRIPT = """
import json, sys, openai
client = openai.OpenAI(max_retries=0)  # configured by OPENAI_BASE_URL and OPENAI_API_KEY alone
client.post("/mock/script", body={"rules": {"b": "insufficient_quota"}}, cast_to=object)
uploaded = client.files.create(file=open(sys.argv[1], "rb"), purpose="batch")
batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
while batch.status not in ("completed", "failed", "expired", "cancelled"):
    batch = client.batches.retrieve(batch.id)
print(batch.model_dump_json())
"""


def test_served_mock_answers_an_sdk_configured_by_two_environment_variables(mock_openai_server, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "in.jsonl", [embedding_request(c, f"text {c}", dimensions=4) for c in "ab"])
    env = {"PATH": "/usr/bin:/bin", **mock_openai_server.env}
    done = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT, str(path)], env=env, capture_output=True, text=True, timeout=SDK_SECONDS
    )
    assert done.returncode == 0, done.stderr
    batch = orjson.loads(done.stdout)
    assert_matches_schema(batch, "Batch")
    assert batch["status"] == "completed" and batch["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    client = mock_openai_server.client()
    [error] = read_lines(client, batch["error_file_id"])
    assert error["custom_id"] == "b" and error["response"]["status_code"] == 429
    assert client.get("/mock/clock", cast_to=object)["object"] == "mock.clock"


def test_served_mock_refuses_another_key(mock_openai_server):  # noqa: F811
    wrong = openai.OpenAI(base_url=mock_openai_server.base_url, api_key="sk-not-this-one", max_retries=0)
    try:
        wrong.batches.list()
    except openai.AuthenticationError as refused:
        assert refused.status_code == 401
    else:
        raise AssertionError("the served mock answered a request with the wrong key")


def test_in_process_fixture_has_the_test_controls(mock_openai, tmp_path):  # noqa: F811
    mock_openai.mock.set_script({"x-*": ["server_error", "ok"]})
    uploaded = upload(mock_openai, write_jsonl(tmp_path / "in.jsonl", [embedding_request("x-1", "text")]))
    for expected in ("failed", "completed"):  # first attempt fails, the second succeeds
        batch = mock_openai.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
        )
        batch = mock_openai.batches.retrieve(batch.id)
        counts = batch.request_counts
        assert (counts.failed, counts.completed) == ((1, 0) if expected == "failed" else (0, 1))
