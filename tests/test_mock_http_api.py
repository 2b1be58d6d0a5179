"""The mock OpenAI API over HTTP: the official SDK end to end, OpenAI's JSON and errors, traversal."""

import http.client
from urllib.parse import urlsplit

import openai
import orjson
import pytest
from openai.types import Batch, FileObject

from core.services.batch_service import BatchService
from tests.mock_batch_helpers import (
    assert_matches_schema,
    by_custom_id,
    chat_request,
    embedding_request,
    run_batch,
    sample_cv,
    wait_until_done,
    write_jsonl,
)

REAL_API_TIMEOUT = 24 * 3600  # OpenAI's completion window; the HTTP mock answers in well under a second


@pytest.mark.real_api
def test_upload_create_poll_download_with_the_official_sdk(batch_api, tmp_path):
    service = BatchService(client=batch_api)
    assert service.backend == "openai"
    requests = [
        embedding_request(f"cv-{i}", f"Python developer {i} with Django and SQL", dimensions=32) for i in range(8)
    ]
    stats = service.write_batch_file(requests, tmp_path / "embeddings.jsonl")
    uploaded = service.upload_file(stats.path)
    assert isinstance(uploaded, FileObject) and uploaded.purpose == "batch" and uploaded.bytes == stats.bytes
    batch = service.create_batch(uploaded.id, "/v1/embeddings", metadata={"kind": "cv_embedding"})
    assert isinstance(batch, Batch) and batch.metadata == {"kind": "cv_embedding"}
    batch = wait_until_done(batch_api, batch, REAL_API_TIMEOUT)
    assert batch.status == "completed" and batch.request_counts.total == 8
    results = by_custom_id(service.iter_file_lines(batch.output_file_id))
    errors = by_custom_id(service.iter_file_lines(batch.error_file_id)) if batch.error_file_id else {}
    assert set(results) | set(errors) == {r["custom_id"] for r in requests}
    for line in results.values():
        assert len(line["response"]["body"]["data"][0]["embedding"]) == 32
    assert batch.id in {b.id for b in service.list_batches(limit=100).data}


@pytest.mark.real_api
def test_cv_parsing_batch_over_http(batch_api, tmp_path):
    request = chat_request("cv-parse-1", sample_cv("05-"), response_format={"type": "json_object"})
    batch = run_batch(
        batch_api, write_jsonl(tmp_path / "parse.jsonl", [request]), "/v1/chat/completions", timeout=REAL_API_TIMEOUT
    )
    assert batch.status == "completed"
    line = next(BatchService(client=batch_api).iter_file_lines(batch.output_file_id))
    document = orjson.loads(line["response"]["body"]["choices"][0]["message"]["content"])
    assert "Oliver" in document["basics"]["name"]


def test_answers_are_openai_json(http_mock_openai, tmp_path, settings):
    settings.MOCK_BATCH_FAILURE_RATE = 0.5
    batch = run_batch(
        http_mock_openai, write_jsonl(tmp_path / "e.jsonl", [embedding_request(f"e{i}", "x y") for i in range(6)])
    )
    raw = http_mock_openai.batches.with_raw_response.retrieve(batch.id)
    assert raw.headers["content-type"] == "application/json"
    assert_matches_schema(orjson.loads(raw.content), "Batch")
    listing = orjson.loads(http_mock_openai.files.with_raw_response.list().content)
    assert_matches_schema(listing, "ListFilesResponse")
    listing = orjson.loads(http_mock_openai.batches.with_raw_response.list(limit=1).content)
    assert_matches_schema(listing, "ListBatchesResponse")
    content = http_mock_openai.files.content(batch.output_file_id)
    assert content.response.headers["content-length"] == str(len(content.content))
    deleted = http_mock_openai.files.delete(batch.input_file_id)
    assert deleted.deleted and deleted.id == batch.input_file_id


def test_cancel_and_pagination_over_http(http_mock_openai, tmp_path, settings):
    settings.MOCK_BATCH_LATENCY = 60
    path = write_jsonl(tmp_path / "e.jsonl", [embedding_request("e", "text")])
    uploaded = http_mock_openai.files.create(file=path, purpose="batch")
    created = [
        http_mock_openai.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
        for _ in range(3)
    ]
    assert [b.id for b in http_mock_openai.batches.list(limit=1)] == [b.id for b in reversed(created)]
    assert http_mock_openai.batches.cancel(created[0].id).status == "cancelling"


def _raw(live_server, method: str, path: str, body: bytes | None = None, token: str | None = "test-key", headers=None):
    """An HTTP request with the path sent exactly as given (no client-side normalisation)."""
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = headers if headers is not None else ({"Authorization": f"Bearer {token}"} if token else {})
    if body is not None:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def test_errors_have_openai_shapes(http_mock_openai, live_server):
    status, body = _raw(live_server, "GET", "/mock-openai/v1/batches", token=None)
    assert status == 401
    assert_matches_schema(orjson.loads(body), "ErrorResponse")
    status, _ = _raw(live_server, "GET", "/mock-openai/v1/files", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert status == 401
    status, body = _raw(live_server, "GET", "/mock-openai/v1/files", token="not-the-key")
    assert status == 401 and orjson.loads(body)["error"]["code"] == "invalid_api_key"
    assert b"not-the-key" not in body
    with pytest.raises(openai.NotFoundError) as caught:
        http_mock_openai.batches.retrieve("batch_" + "0" * 32)
    assert caught.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError):
        http_mock_openai.files.retrieve("file-unknown")
    with pytest.raises(openai.BadRequestError) as caught:
        http_mock_openai.batches.create(input_file_id="", endpoint="/v1/embeddings", completion_window="24h")
    assert caught.value.param == "input_file_id"
    with pytest.raises(openai.BadRequestError) as caught:
        http_mock_openai.batches.list(limit=1000)
    assert caught.value.param == "limit"
    status, body = _raw(live_server, "POST", "/mock-openai/v1/batches", body=b"{not json")
    assert status == 400 and orjson.loads(body)["error"]["type"] == "invalid_request_error"
    status, body = _raw(live_server, "PUT", "/mock-openai/v1/files")
    assert status == 404 and orjson.loads(body)["error"]["message"].startswith("Invalid URL")
    status, body = _raw(live_server, "GET", "/mock-openai/v1/no/such/thing")
    assert status == 404
    assert_matches_schema(orjson.loads(body), "ErrorResponse")


TRAVERSALS = [
    "/mock-openai/v1/files/../../../../etc/passwd",
    "/mock-openai/v1/files/..%2F..%2F..%2Fsecret.json/content",
    "/mock-openai/v1/files/%2Fetc%2Fpasswd/content",
    "/mock-openai/v1/files/file-%00aaaaaaaaaaaaaaaaaaaaaaa",
    "/mock-openai/v1/files/..%252F..%252Fsecret.json/content",
    "/mock-openai/v1/files/%2e%2e/content",
    "/mock-openai/v1/files/....//....//secret.json",
    "/mock-openai/v1/batches/..%2F..%2Fsecret",
    "/mock-openai/v1/batches/%2e%2e%2fsecret/cancel",
]


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_traversal_attempts_get_404_and_touch_nothing(client, settings, path, method):
    """Through Django's own request handling (the live server's media handler would answer "../" first)."""
    settings.ROOT_URLCONF = "tests.mock_api_urls"
    settings.MOCK_OPENAI_API, settings.MOCK_OPENAI_API_KEY = True, "test-key"
    secret = settings.MOCK_OPENAI_HTTP_DIR.parent / "secret.json"
    secret.write_text('{"file": {"id": "stolen"}, "parts": []}')
    auth = {"HTTP_AUTHORIZATION": "Bearer test-key"}
    assert client.get("/mock-openai/v1/files", **auth).status_code == 200  # the mock root exists from here on
    before = sorted(p.name for p in settings.MOCK_OPENAI_HTTP_DIR.parent.rglob("*"))
    response = client.generic(method, path, **auth)
    assert response.status_code == 404, response.content
    assert b"stolen" not in response.content and b"root:" not in response.content
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert secret.exists() and sorted(p.name for p in settings.MOCK_OPENAI_HTTP_DIR.parent.rglob("*")) == before
