"""Helpers for the mock Batch API tests: request builders, single answers, a batch runner, and OpenAPI validation."""

from __future__ import annotations

import base64
import time
from functools import cache
from pathlib import Path

import numpy as np
import orjson
from jsonschema import Draft202012Validator

from core.mock_openai.engine.answers import answer_requests
from core.mock_openai.generators.base import Request

REPO = Path(__file__).resolve().parent.parent
OPENAPI_SUBSET = REPO / "tests" / "contracts" / "openai-batch-api" / "openapi-subset.json"
SAMPLE_CVS = REPO / "core" / "sample_data" / "cvs"
TERMINAL = ("completed", "failed", "expired", "cancelled")


@cache
def _openapi() -> dict:
    """OpenAI's published schemas (the project's own copy; see its README for where they come from)."""
    return orjson.loads(OPENAPI_SUBSET.read_bytes())


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = _openapi()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _without_unset(value, schema: dict):
    """Drop null optional keys (the API's "not set yet"), following the schema into objects and arrays."""
    schema = _resolve(schema)
    if isinstance(value, dict) and "properties" in schema:
        required = set(schema.get("required", []))
        return {
            key: _without_unset(item, schema["properties"].get(key, {}))
            for key, item in value.items()
            if item is not None or key in required
        }
    if isinstance(value, list) and "items" in schema:
        return [_without_unset(item, schema["items"]) for item in value]
    return value


def assert_matches_schema(value: dict, component: str) -> None:
    """Validate against `#/components/schemas/<component>`, unset optional ids and times (null) dropped."""
    document = _openapi()
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    cleaned = _without_unset(value, {"$ref": f"#/components/schemas/{component}"})
    errors = sorted(Draft202012Validator(schema).iter_errors(cleaned), key=str)
    assert not errors, f"{component}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def embedding_request(custom_id: str, text, **body) -> dict:
    body = {"model": "text-embedding-3-small", "input": text, **body}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/embeddings", "body": body}


def chat_request(custom_id: str, user: str, system: str = "You are a recruiting assistant.", **body) -> dict:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    body = {"model": "gpt-4o-mini", "messages": messages, **body}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def respond(url: str, body: dict, *, custom_id: str, seed: int = 0, created: int = 0) -> tuple[int, dict]:
    """(status, body) of one request, from the dispatch a batch's execution runs, with no injected failure."""
    [answer] = answer_requests(url, [Request(custom_id, body, seed, created)], failure_rate=0.0, prior_failures={})
    return answer.status, answer.body


def decode_embedding(value) -> np.ndarray:
    """An embedding from a response body, whichever `encoding_format` produced it."""
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4")
    return np.asarray(value, dtype=np.float32)


def write_jsonl(path: Path, lines) -> Path:
    with path.open("wb") as handle:
        for line in lines:
            handle.write(line if isinstance(line, bytes) else orjson.dumps(line) + b"\n")
    return path


def upload(client, path: Path):
    with path.open("rb") as handle:
        return client.files.create(file=handle, purpose="batch")


def wait_until_done(client, batch, timeout: float = 60):
    """Poll (quickly at first, then every 10 s at most) until the batch is in a terminal state."""
    deadline, interval = time.monotonic() + timeout, 0.02
    while batch.status not in TERMINAL:
        assert time.monotonic() < deadline, f"batch still {batch.status} after {timeout}s"
        time.sleep(interval)
        interval = min(interval * 2, 10)
        batch = client.batches.retrieve(batch.id)
    return batch


def run_batch(client, path: Path, endpoint: str = "/v1/embeddings", *, timeout: float = 60, **create):
    """Upload, create and poll until the batch ends; returns the final Batch."""
    uploaded = upload(client, path)
    batch = client.batches.create(input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h", **create)
    return wait_until_done(client, batch, timeout)


def read_lines(client, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    return [orjson.loads(line) for line in client.files.content(file_id).text.splitlines() if line]


def by_custom_id(lines: list[dict]) -> dict[str, dict]:
    return {line["custom_id"]: line for line in lines}


def sample_cv(name_prefix: str) -> str:
    return next(SAMPLE_CVS.glob(f"{name_prefix}*")).read_text()
