"""OpenAI Batch API limits and a cheap token estimate, shared by the mock's validator and the pipeline.

One module so that the pipeline's batch splitting and the mock's validation can never disagree about
what OpenAI accepts. The figures come from the Batch API reference (the contract the tests carry:
tests/contracts/openai-batch-api/).
"""

from collections.abc import Mapping

MAX_REQUESTS_PER_BATCH = 50_000
MAX_EMBEDDING_INPUTS = 50_000  # an /v1/embeddings batch: list inputs count each element
MAX_FILE_BYTES = 200 * 1024 * 1024  # a batch input file
MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # any file on the Files API
COMPLETION_WINDOWS = ("24h",)
BATCH_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
BATCH_INPUT_EXPIRY_SECONDS = 30 * 24 * 3600  # files with purpose "batch" expire after 30 days
OUTPUT_EXPIRY_SECONDS_RANGE = (3600, 30 * 24 * 3600)  # bounds of output_expires_after.seconds

METADATA_MAX_KEYS = 16
METADATA_MAX_KEY_LENGTH = 64
METADATA_MAX_VALUE_LENGTH = 512

# Native vector sizes; text-embedding-3 models also accept a smaller `dimensions`.
EMBEDDING_MODEL_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
MODELS_ACCEPTING_DIMENSIONS = frozenset({"text-embedding-3-small", "text-embedding-3-large"})
EMBEDDING_MAX_INPUT_TOKENS = 8192
DEFAULT_EMBEDDING_DIMENSIONS = 1536  # for an embedding model absent from the table
CHAT_CONTEXT_TOKENS = 128_000  # gpt-4o, gpt-4o-mini and the gpt-4.1 family accept at least this much

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4  # role and separators per chat message


def estimate_tokens(text: str) -> int:
    """About one token per four characters of English: exact enough for budgets, free to compute."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def embedding_inputs(body: Mapping) -> list:
    """The inputs of an embeddings request body as a list (a single string or token array counts once)."""
    value = body.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        return [value]  # one input given as a token array
    return value if isinstance(value, list) else [value]


def estimate_input_tokens(text_or_tokens) -> int:
    """Tokens of one embedding input: a string is estimated, a token array counted."""
    if isinstance(text_or_tokens, str):
        return estimate_tokens(text_or_tokens)
    if isinstance(text_or_tokens, list):
        return len(text_or_tokens)
    return 0


def message_text(message: Mapping) -> str:
    """The text of a chat message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def estimate_request_tokens(url: str, body: Mapping) -> int:
    """Input tokens one batch request enqueues; the figure OpenAI's enqueued-token limit counts."""
    if url == "/v1/embeddings":
        return sum(estimate_input_tokens(item) for item in embedding_inputs(body))
    messages = body.get("messages")
    if isinstance(messages, list):
        return sum(
            estimate_tokens(message_text(m)) + MESSAGE_OVERHEAD_TOKENS for m in messages if isinstance(m, Mapping)
        )
    prompt = body.get("input", body.get("prompt"))
    return estimate_tokens(prompt) if isinstance(prompt, str) else 0
