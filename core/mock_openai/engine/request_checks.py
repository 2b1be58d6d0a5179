"""The errors a batch request earns by itself, whatever the failure rate: a 400 (or a 404 for an
unknown model) in OpenAI's words, for each endpoint the mock answers.

Execution gives such a request its error line instead of an answer, and validation counts it among the
failures a batch is expected to have.
"""

from collections.abc import Mapping

from core.services.openai_limits import (
    EMBEDDING_MAX_INPUT_TOKENS,
    EMBEDDING_MODEL_DIMENSIONS,
    MODELS_ACCEPTING_DIMENSIONS,
    chat_context_tokens,
    embedding_inputs,
    estimate_input_tokens,
    estimate_request_tokens,
    utf8_length,
)

from .body_checks import embedding_input_error, messages_error, model_error, response_format_error
from .errors import MockAPIError, bad_request

MAX_INPUTS_PER_EMBEDDING_REQUEST = 2048


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


def _embedding_inputs_error(inputs: list, model: str | None = None) -> MockAPIError | None:
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
    # Counted (OpenAI's count, never less) only when the byte bound does not settle it: tokenizing is most
    # of the cost of validating a 50,000-input batch.
    if max(estimate_input_tokens(item, model, utf8_length) for item in inputs) <= EMBEDDING_MAX_INPUT_TOKENS:
        return None
    longest = max(estimate_input_tokens(item, model) for item in inputs)
    if longest > EMBEDDING_MAX_INPUT_TOKENS:
        return bad_request(
            f"This model's maximum context length is {EMBEDDING_MAX_INPUT_TOKENS} tokens, however you requested "
            f"{longest} tokens ({longest} in your prompt; 0 for the completion). "
            "Please reduce your prompt; or completion length.",
            "input",
            "context_length_exceeded",
        )
    return None


def _embedding_request_error(body: Mapping) -> MockAPIError | None:
    value = body.get("input")
    if value is None:
        return bad_request("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    # The common case: one string of at most 8,192 UTF-8 bytes fits whatever it says (a token is >= 1 byte).
    if (
        type(value) is str
        and value
        and len(value) <= EMBEDDING_MAX_INPUT_TOKENS
        and len(value.encode("utf-8", "surrogatepass")) <= EMBEDDING_MAX_INPUT_TOKENS
    ):
        return _embedding_options_error(body)
    model = body.get("model") if isinstance(body.get("model"), str) else None
    return _embedding_inputs_error(embedding_inputs(body), model) or _embedding_options_error(body)


def _chat_request_error(body: Mapping) -> MockAPIError | None:
    messages = body.get("messages")
    if messages is None:
        return bad_request("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, Mapping) for m in messages):
        return bad_request(
            "Invalid 'messages': expected a non-empty array of message objects.", "messages", "invalid_value"
        )
    context = chat_context_tokens(body.get("model") if isinstance(body.get("model"), str) else None)
    completion = body.get("max_completion_tokens", body.get("max_tokens"))
    completion = completion if type(completion) is int and completion > 0 else 0
    if estimate_request_tokens("/v1/chat/completions", body, utf8_length) + completion <= context:
        return None  # within the context by the byte bound: no need to count
    tokens = estimate_request_tokens("/v1/chat/completions", body)  # OpenAI's count, never less
    if tokens + completion > context:
        return bad_request(
            f"This model's maximum context length is {context} tokens. However, "
            + (
                f"you requested {tokens + completion} tokens ({tokens} in the messages, {completion} in the "
                "completion). Please reduce the length of the messages or completion."
                if completion
                else f"your messages resulted in {tokens} tokens. Please reduce the length of the messages."
            ),
            "messages",
            "context_length_exceeded",
        )
    return None


def request_error(url: str, body: object) -> MockAPIError | None:
    """The 400 (or 404) a request earns by itself, whatever the failure rate; None if it is valid."""
    if not isinstance(body, Mapping):
        return bad_request("The request body must be a JSON object.", "body", "invalid_type")
    if url == "/v1/embeddings":
        return model_error(body) or embedding_input_error(body) or _embedding_request_error(body)
    if url == "/v1/chat/completions":
        return model_error(body) or _chat_request_error(body) or messages_error(body) or response_format_error(body)
    return bad_request(f"The mock Batch API does not implement {url}.", "url", "unsupported_endpoint")
