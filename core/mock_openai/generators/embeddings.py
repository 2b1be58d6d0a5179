"""`/v1/embeddings` answers in OpenAI's shape around the vectors a model supplies.

Requests are grouped by their number of dimensions so that each size is one `vectors` call; a list
input gives one embedding per item, and `encoding_format: "base64"` packs each vector as OpenAI does.
"""

import base64
from abc import abstractmethod
from collections.abc import Mapping, Sequence

import numpy as np

from core.services.openai_limits import (
    DEFAULT_EMBEDDING_DIMENSIONS,
    EMBEDDING_MODEL_DIMENSIONS,
    count_tokens,
    embedding_inputs,
    estimate_input_tokens,
)

from .base import Generator, Request


def _input_text(item) -> str:
    """A token array is embedded as the text of its token numbers, so equal arrays give equal vectors."""
    return item if isinstance(item, str) else " ".join(f"token{token}" for token in item)


def _embedding_texts(body: Mapping) -> tuple[list[str], int]:
    """The texts to embed for a request and the tokens it uses."""
    value, model = body["input"], body.get("model")
    if type(value) is str:
        return [value], count_tokens(value, model)
    items = embedding_inputs(body)
    return [_input_text(item) for item in items], sum(estimate_input_tokens(item, model) for item in items)


def _base64(row: np.ndarray) -> str:
    """OpenAI's `encoding_format: "base64"`: the little-endian float32 bytes, base64-encoded."""
    return base64.b64encode(row.astype("<f4", copy=False).tobytes()).decode()


def _as_is(row: np.ndarray) -> np.ndarray:
    return row  # orjson writes float32 arrays itself (OPT_SERIALIZE_NUMPY)


class EmbeddingGenerator(Generator):
    """Embeddings answers; a subclass supplies `vectors`."""

    endpoint = "/v1/embeddings"

    @abstractmethod
    def vectors(self, texts: list[str], dimensions: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; the same text must always give the same row."""

    def answer(self, requests: Sequence[Request]) -> list[dict]:
        bodies = [request.body for request in requests]
        responses: list[dict] = [{} for _ in bodies]
        by_dimensions: dict[int, list[tuple[int, list[str], int]]] = {}
        for index, body in enumerate(bodies):
            dimensions = body.get("dimensions") or EMBEDDING_MODEL_DIMENSIONS.get(
                body["model"], DEFAULT_EMBEDDING_DIMENSIONS
            )
            by_dimensions.setdefault(dimensions, []).append((index, *_embedding_texts(body)))
        for dimensions, members in by_dimensions.items():
            vectors = self.vectors([text for _, texts, _ in members for text in texts], dimensions)
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
