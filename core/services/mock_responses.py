"""What the mock answers each batch request: deterministic response bodies in OpenAI's shapes.

Everything here is a pure function of the request (and, for ids, failures and `created`, of the seed,
custom_id and batch clock), so the same input and seed give the same bytes. Embeddings come from the
text itself (see text_features), chat completions either parse the CV in the prompt into a JSON
Resume document or explain a candidate/job match from the prompt's own words.
"""

import base64
import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import orjson

from .match_explanation import explanation_payload, explanation_text
from .mock_errors import MockAPIError, bad_request
from .openai_limits import (
    CHAT_CONTEXT_TOKENS,
    DEFAULT_EMBEDDING_DIMENSIONS,
    EMBEDDING_MAX_INPUT_TOKENS,
    EMBEDDING_MODEL_DIMENSIONS,
    MODELS_ACCEPTING_DIMENSIONS,
    embedding_inputs,
    estimate_input_tokens,
    estimate_request_tokens,
    estimate_tokens,
    message_text,
)
from .resume_extraction import extract_resume, is_resume_schema
from .schema_conformance import conform
from .text_features import embed_texts

MAX_INPUTS_PER_EMBEDDING_REQUEST = 2048
SUPPORTED_ENDPOINTS = ("/v1/embeddings", "/v1/chat/completions")
SYSTEM_FINGERPRINT = "fp_mock"


# --- request validity and injected failures -------------------------------------------------------
def _embedding_options_error(body: Mapping) -> MockAPIError | None:
    model = body.get("model")
    if model not in EMBEDDING_MODEL_DIMENSIONS:
        return MockAPIError(
            404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
        )
    dimensions = body.get("dimensions")
    if dimensions is not None:
        if model not in MODELS_ACCEPTING_DIMENSIONS:
            return bad_request("This model does not support specifying dimensions.", "dimensions", "invalid_value")
        if type(dimensions) is not int or not 1 <= dimensions <= EMBEDDING_MODEL_DIMENSIONS[model]:
            return bad_request(
                f"Invalid value for 'dimensions': must be an integer from 1 to {EMBEDDING_MODEL_DIMENSIONS[model]}.",
                "dimensions",
                "invalid_value",
            )
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return bad_request(
            "Invalid value for 'encoding_format': expected 'float' or 'base64'.", "encoding_format", "invalid_value"
        )
    return None


def _embedding_inputs_error(inputs: list) -> MockAPIError | None:
    if not inputs or any(item == "" or item == [] for item in inputs):
        return bad_request(
            "'$.input' is invalid: inputs must be non-empty strings or token arrays.", "input", "invalid_value"
        )
    if not all(isinstance(item, str) or (isinstance(item, list) and item) for item in inputs):
        return bad_request(
            "'$.input' must be a string, an array of strings or an array of token arrays.", "input", "invalid_type"
        )
    if len(inputs) > MAX_INPUTS_PER_EMBEDDING_REQUEST:
        return bad_request(
            f"'$.input' has {len(inputs)} items; at most {MAX_INPUTS_PER_EMBEDDING_REQUEST} are allowed.",
            "input",
            "invalid_value",
        )
    longest = max(estimate_input_tokens(item) for item in inputs)
    if longest > EMBEDDING_MAX_INPUT_TOKENS:
        return bad_request(
            f"This model's maximum context length is {EMBEDDING_MAX_INPUT_TOKENS} tokens, however you requested "
            f"{longest} tokens ({longest} in your prompt; 0 for the completion). Please reduce your prompt.",
            "input",
            "context_length_exceeded",
        )
    return None


def _embedding_request_error(body: Mapping) -> MockAPIError | None:
    value = body.get("input")
    if value is None:
        return bad_request("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    if type(value) is str and value and estimate_tokens(value) <= EMBEDDING_MAX_INPUT_TOKENS:  # the common case
        return _embedding_options_error(body)
    return _embedding_inputs_error(embedding_inputs(body)) or _embedding_options_error(body)


def _chat_request_error(body: Mapping) -> MockAPIError | None:
    messages = body.get("messages")
    if messages is None:
        return bad_request("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, Mapping) for m in messages):
        return bad_request(
            "Invalid 'messages': expected a non-empty array of message objects.", "messages", "invalid_value"
        )
    tokens = estimate_request_tokens("/v1/chat/completions", body)
    if tokens > CHAT_CONTEXT_TOKENS:
        return bad_request(
            f"This model's maximum context length is {CHAT_CONTEXT_TOKENS} tokens. However, your messages resulted in "
            f"{tokens} tokens. Please reduce the length of the messages.",
            "messages",
            "context_length_exceeded",
        )
    return None


def request_error(url: str, body: object) -> MockAPIError | None:
    """The 400 (or 404) a request earns by itself, whatever the failure rate; None if it is valid."""
    if not isinstance(body, Mapping):
        return bad_request("The request body must be a JSON object.", "body", "invalid_type")
    if url == "/v1/embeddings":
        return _embedding_request_error(body)
    if url == "/v1/chat/completions":
        return _chat_request_error(body)
    return bad_request(f"The mock Batch API does not implement {url}.", "url", "unsupported_endpoint")


def _unit_interval(purpose: str, seed: int, custom_id: str) -> float:
    """A number in [0, 1) fixed by (purpose, seed, custom_id): keyed BLAKE2b, the same in every process."""
    digest = hashlib.blake2b(custom_id.encode(), digest_size=8, key=f"{purpose}:{seed}".encode()).digest()
    return int.from_bytes(digest, "big") / 2**64


_TRANSIENT_ERRORS = (
    (500, "The server had an error while processing your request. Sorry about that!", "server_error"),
    (503, "The engine is currently overloaded, please try again later.", "engine_overloaded"),
)


def injected_failure(seed: int, failure_rate: float, custom_id: str, earlier: int = 0) -> MockAPIError | None:
    """A transient server error for a deterministic `failure_rate` share of custom_ids (per seed).

    `earlier` counts the injected failures this custom_id already got: each retry draws anew, as
    OpenAI's transient errors are independent per attempt.
    """
    key = custom_id if earlier == 0 else f"{custom_id}#retry{earlier}"
    if failure_rate <= 0 or _unit_interval("fail", seed, key) >= failure_rate:
        return None
    status, message, code = _TRANSIENT_ERRORS[int(_unit_interval("kind", seed, key) * len(_TRANSIENT_ERRORS))]
    return MockAPIError(status, message, error_type="server_error", code=code)


# --- embeddings -----------------------------------------------------------------------------------
def _input_text(item) -> str:
    """A token array is embedded as the text of its token numbers, so equal arrays give equal vectors."""
    return item if isinstance(item, str) else " ".join(f"token{token}" for token in item)


def _embedding_texts(body: Mapping) -> tuple[list[str], int]:
    """The texts to embed for a request and the tokens it uses."""
    value = body["input"]
    if type(value) is str:
        return [value], estimate_tokens(value)
    items = embedding_inputs(body)
    return [_input_text(item) for item in items], sum(estimate_input_tokens(item) for item in items)


def embedding_responses(bodies: Sequence[Mapping]) -> list[dict]:
    """Response bodies for valid embeddings requests, computing all vectors of one size in one go."""
    responses: list[dict] = [{} for _ in bodies]
    by_dimensions: dict[int, list[tuple[int, list[str], int]]] = {}
    for index, body in enumerate(bodies):
        dimensions = body.get("dimensions") or EMBEDDING_MODEL_DIMENSIONS.get(
            body["model"], DEFAULT_EMBEDDING_DIMENSIONS
        )
        by_dimensions.setdefault(dimensions, []).append((index, *_embedding_texts(body)))
    for dimensions, members in by_dimensions.items():
        vectors = embed_texts([text for _, texts, _ in members for text in texts], dimensions)
        offset = 0
        for index, texts, tokens in members:
            body = bodies[index]
            encode = _base64 if body.get("encoding_format") == "base64" else _as_is
            data = [
                {"object": "embedding", "index": position, "embedding": encode(vectors[offset + position])}
                for position in range(len(texts))
            ]
            offset += len(texts)
            responses[index] = {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
    return responses


def _base64(row: np.ndarray) -> str:
    """OpenAI's `encoding_format: "base64"`: the little-endian float32 bytes, base64-encoded."""
    return base64.b64encode(row.astype("<f4", copy=False).tobytes()).decode()


def _as_is(row: np.ndarray) -> np.ndarray:
    return row  # orjson writes float32 arrays itself (OPT_SERIALIZE_NUMPY)


def decode_embedding(value) -> np.ndarray:
    """An embedding from a response body, whichever `encoding_format` produced it."""
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4")
    return np.asarray(value, dtype=np.float32)


# --- chat completions -----------------------------------------------------------------------------
def _response_schema(body: Mapping) -> dict | None:
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema")
        if isinstance(json_schema, Mapping) and isinstance(json_schema.get("schema"), Mapping):
            return dict(json_schema["schema"])
    return None


def _wants_json(body: Mapping) -> bool:
    response_format = body.get("response_format")
    return isinstance(response_format, Mapping) and response_format.get("type") in ("json_schema", "json_object")


def is_cv_parse_request(custom_id: str, body: Mapping) -> bool:
    schema = _response_schema(body)
    return "parse" in custom_id.lower() or (schema is not None and is_resume_schema(body["response_format"]))


def _prompt(body: Mapping, roles: tuple[str, ...]) -> str:
    return "\n\n".join(message_text(m) for m in body["messages"] if m.get("role") in roles)


def _completion_content(custom_id: str, body: Mapping) -> str:
    schema = _response_schema(body)
    user_text = _prompt(body, ("user",)) or _prompt(body, ("user", "system", "developer"))
    if is_cv_parse_request(custom_id, body):
        document = extract_resume(user_text)
        return orjson.dumps(conform(document, schema) if schema else document).decode()
    if _wants_json(body):
        payload = explanation_payload(user_text)
        return orjson.dumps(conform(payload, schema) if schema else payload).decode()
    return explanation_text(user_text)


def chat_completion_response(body: Mapping, *, custom_id: str, seed: int, created: int) -> dict:
    content = _completion_content(custom_id, body)
    prompt_tokens = estimate_request_tokens("/v1/chat/completions", body)
    completion_tokens = estimate_tokens(content)
    digest = hashlib.blake2b(f"{seed}:{custom_id}".encode(), digest_size=15).hexdigest()
    return {
        "id": f"chatcmpl-mock{digest}",
        "object": "chat.completion",
        "created": created,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def respond(url: str, body: Mapping, *, custom_id: str, seed: int = 0, created: int = 0) -> tuple[int, dict]:
    """Status and body for one request, as the batch would record it (the failure rate aside)."""
    error = request_error(url, body)
    if error is not None:
        return error.status, error.body()
    if url == "/v1/embeddings":
        return 200, embedding_responses([body])[0]
    return 200, chat_completion_response(body, custom_id=custom_id, seed=seed, created=created)


def usage_tokens(url: str, response_body: Mapping) -> tuple[int, int]:
    """(input, output) tokens of a successful response, for the batch's `usage`."""
    usage = response_body.get("usage") or {}
    if url == "/v1/embeddings":
        return usage.get("prompt_tokens", 0), 0
    return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
