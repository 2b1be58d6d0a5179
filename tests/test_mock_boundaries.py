"""The mock API's boundaries (issue 9): a development tool that is off unless asked for, answers only its
own key, never serves the pipeline's files, caps what it stores, and answers every odd request line with
OpenAI's per-request 400 instead of crashing the batch."""

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.mock_batch_helpers import (
    assert_matches_schema,
    by_custom_id,
    chat_request,
    read_lines,
    run_batch,
    sample_cv,
    write_jsonl,
)

REPO = Path(__file__).resolve().parent.parent
KEY = "mock-key-for-tests"


@pytest.fixture
def mock_api(settings):
    """The HTTP mock switched on with its own key, served by Django's test client."""
    settings.ROOT_URLCONF = "tests.mock_api_urls"
    settings.MOCK_OPENAI_API = True
    settings.MOCK_OPENAI_API_KEY = KEY
    return settings


def _auth(token: str | None = KEY) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}


def _upload(client, content: bytes, token: str | None = KEY, name: str = "input.jsonl"):
    return client.post(
        "/mock-openai/v1/files",
        {"file": SimpleUploadedFile(name, content), "purpose": "batch"},
        **_auth(token),
    )


# --- case 1: not an open door ---------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "anything", KEY + "x", KEY[:-1], "", "Bearer " + KEY])
def test_only_its_own_key_opens_the_mock(client, mock_api, token):
    for method, path in [
        ("GET", "/mock-openai/v1/files?purpose=batch"),
        ("GET", "/mock-openai/v1/batches"),
        ("DELETE", "/mock-openai/v1/files/file-" + "a" * 24),
        ("POST", "/mock-openai/v1/batches/batch_" + "0" * 32 + "/cancel"),
        ("GET", "/mock-openai/v1/no/such/route"),
    ]:
        response = client.generic(method, path, **_auth(token))
        assert response.status_code == 401, (method, path, response.content)
        assert_matches_schema(response.json(), "ErrorResponse")
    assert _upload(client, b'{"a": 1}\n', token).status_code == 401
    assert client.get("/mock-openai/v1/files", **_auth(KEY)).status_code == 200


@pytest.mark.parametrize("api, key", [(True, ""), (False, KEY), (False, "")])
def test_refused_entirely_unless_switched_on_with_a_key(client, mock_api, api, key):
    mock_api.MOCK_OPENAI_API, mock_api.MOCK_OPENAI_API_KEY = api, key
    for token in ("anything", KEY, ""):
        response = client.get("/mock-openai/v1/files?purpose=batch", **_auth(token))
        assert response.status_code == 403, response.content
        assert_matches_schema(response.json(), "ErrorResponse")
        assert "MOCK_OPENAI_API_KEY" in response.json()["error"]["message"]


def test_the_pipelines_files_are_not_reachable_over_http(client, mock_api, mock_client, tmp_path):
    """The pipeline's mock root (MOCK_BATCH_DIR) holds CV text; the HTTP mock has a root of its own."""
    path = write_jsonl(tmp_path / "parse.jsonl", [chat_request("cv-parse-1", sample_cv("07-"))])
    pipeline_file = mock_client.files.create(file=path.open("rb"), purpose="batch")
    pipeline_batch = mock_client.batches.create(
        input_file_id=pipeline_file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert mock_client.batches.retrieve(pipeline_batch.id).status == "completed"
    assert mock_api.MOCK_OPENAI_HTTP_DIR != mock_api.MOCK_BATCH_DIR

    listing = client.get("/mock-openai/v1/files?purpose=batch", **_auth())
    assert listing.status_code == 200 and listing.json()["data"] == []
    assert b"Oliver" not in client.get("/mock-openai/v1/files", **_auth()).content
    for url in (f"/mock-openai/v1/files/{pipeline_file.id}", f"/mock-openai/v1/files/{pipeline_file.id}/content"):
        assert client.get(url, **_auth()).status_code == 404
    assert client.delete(f"/mock-openai/v1/files/{pipeline_file.id}", **_auth()).status_code == 404
    assert client.get(f"/mock-openai/v1/batches/{pipeline_batch.id}", **_auth()).status_code == 404
    assert client.post(f"/mock-openai/v1/batches/{pipeline_batch.id}/cancel", **_auth()).status_code == 404
    assert client.get("/mock-openai/v1/batches", **_auth()).json()["data"] == []
    assert mock_client.files.retrieve(pipeline_file.id).id == pipeline_file.id  # untouched

    uploaded = _upload(client, b'{"a": 1}\n').json()
    assert (Path(mock_api.MOCK_OPENAI_HTTP_DIR) / "input_files" / f"{uploaded['id']}.json").exists()
    assert uploaded["id"] not in {f.id for f in mock_client.files.list()}


def _django_settings(env: dict) -> dict:
    """MOCK_OPENAI_API, the key's presence and whether /mock-openai/v1/ resolves, in a fresh process."""
    code = (
        "import django, json; django.setup()\n"
        "from django.conf import settings; from django.urls import resolve, Resolver404\n"
        "try:\n    resolve('/mock-openai/v1/files'); served = True\n"
        "except Resolver404:\n    served = False\n"
        "print(json.dumps({'api': settings.MOCK_OPENAI_API, 'key': bool(settings.MOCK_OPENAI_API_KEY),"
        " 'served': served}))\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOCK_", "OPENAI_", "USE_MOCK"))}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, "DJANGO_SETTINGS_MODULE": "recruit.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return orjson.loads(completed.stdout.strip().splitlines()[-1])


def test_off_by_default_even_with_the_mock_backend():
    assert _django_settings({}) == {"api": False, "key": False, "served": False}
    assert _django_settings({"USE_MOCK_BATCH": "true"})["api"] is False
    assert _django_settings({"MOCK_OPENAI_API": "true", "MOCK_OPENAI_API_KEY": "k"}) == {
        "api": True,
        "key": True,
        "served": True,
    }


def _compose_default(value: str) -> str:
    """What docker compose makes of `${VAR:-default}` (and `${VAR}`) when VAR is not set."""
    return re.sub(r"\$\{[A-Z_]+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", str(value))


def test_compose_keeps_the_mock_api_off_unless_asked_for():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    for name in ("web", "worker", "beat"):
        environment = compose["services"][name]["environment"]
        assert "MOCK_OPENAI_API" in environment, name  # settable, so it can be switched on explicitly
        assert _compose_default(environment["MOCK_OPENAI_API"]).lower() in ("false", "0", "no", "off")
        assert _compose_default(environment.get("MOCK_OPENAI_API_KEY", "")) == ""
    web = compose["services"]["web"]["environment"]
    env = {k: _compose_default(web[k]) for k in web if k.startswith(("MOCK_OPENAI", "USE_MOCK", "OPENAI_"))}
    env = {k: v for k, v in env.items() if v}
    assert _django_settings(env)["served"] is False


# --- case 1: what it stores -----------------------------------------------------------------------
def test_total_stored_bytes_are_capped(client, mock_api):
    mock_api.MOCK_OPENAI_MAX_STORED_BYTES = 2_000
    line = b'{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {}}\n'
    first = _upload(client, line * 20)  # 1,480 bytes: a second one would pass the cap
    assert first.status_code == 200, first.content
    refused = _upload(client, line * 20)
    assert refused.status_code == 400, refused.content
    assert_matches_schema(refused.json(), "ErrorResponse")
    assert refused.json()["error"]["param"] == "file"
    assert "storage" in refused.json()["error"]["message"]
    assert [f["id"] for f in client.get("/mock-openai/v1/files", **_auth()).json()["data"]] == [first.json()["id"]]
    http_root = Path(mock_api.MOCK_OPENAI_HTTP_DIR)
    assert sum(p.stat().st_size for p in http_root.rglob("*") if p.is_file() and p.suffix == ".jsonl") == len(line) * 20
    assert client.delete(f"/mock-openai/v1/files/{first.json()['id']}", **_auth()).status_code == 200
    assert _upload(client, line * 20).status_code == 200  # room again once deleted


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(client, mock_api):
    response = client.post(
        "/mock-openai/v1/files",
        data=b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(600 * 1024 * 1024),
        **_auth(),
    )
    assert response.status_code == 400
    assert_matches_schema(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == "file"


# --- case 4: one odd request line never breaks a batch ----------------------------------------------
def _schema_format(schema) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


ODD_SCHEMAS = {
    "list-properties": {"type": "object", "properties": ["name", "email"]},
    "int-required": {"type": "object", "properties": {"name": {"type": "string"}}, "required": 3},
    "string-items": {"type": "array", "items": "string"},
    "recursive": {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]},
}


def _odd_batch_lines() -> list[dict]:
    lines = [chat_request("ok-1", "Candidate: Python. Job: Python.")]
    for name, schema in ODD_SCHEMAS.items():
        lines.append(chat_request(f"odd-{name}", "Candidate: Python.", response_format=_schema_format(schema)))
    lines.append(chat_request("ok-2", sample_cv("08-"), response_format={"type": "json_object"}))
    return lines


def _check_odd_batch(client, batch) -> None:
    assert batch.status == "completed", batch
    assert batch.request_counts.total == len(ODD_SCHEMAS) + 2
    output = by_custom_id(read_lines(client, batch.output_file_id))
    errors = by_custom_id(read_lines(client, batch.error_file_id))
    assert {"ok-1", "ok-2"} <= set(output)
    for name in ("list-properties", "int-required", "string-items"):
        response = errors[f"odd-{name}"]["response"]
        assert response["status_code"] == 400, response
        assert response["body"]["error"]["type"] == "invalid_request_error"
        assert response["body"]["error"]["param"].startswith("response_format")
    assert set(output) | set(errors) == {line["custom_id"] for line in _odd_batch_lines()}
    assert not set(output) & set(errors)


def test_a_malformed_json_schema_is_a_400_line_and_the_rest_runs(mock_client, tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", _odd_batch_lines())
    _check_odd_batch(mock_client, run_batch(mock_client, path, "/v1/chat/completions"))


def test_a_malformed_json_schema_over_http_is_a_400_line_not_a_500(http_mock_openai, tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", _odd_batch_lines())
    _check_odd_batch(http_mock_openai, run_batch(http_mock_openai, path, "/v1/chat/completions"))
