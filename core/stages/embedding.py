"""What the kinds that call /v1/embeddings share: the request, reading the vector, storing it.

Vectors come back base64-encoded (a quarter of the JSON size) and are written with one binary COPY
into a temporary table and one UPDATE per chunk, never a save per row.
"""

from __future__ import annotations

import base64
from abc import abstractmethod

import numpy as np
from django.conf import settings
from django.db import connection
from pgvector.psycopg import register_vector

from core.batches.kinds import BatchKindSpec, WorkState
from core.models import EmbeddingStatus

EMBEDDING_STATE = WorkState.of("embedding", EmbeddingStatus, done=EmbeddingStatus.EMBEDDED)


def decode_embedding(body: dict, dimensions: int) -> tuple[np.ndarray | None, str | None]:
    """The single vector of an embeddings response, or why it cannot be stored."""
    data = body.get("data") or []
    if len(data) != 1:
        return None, f"expected 1 embedding, got {len(data)}"
    raw = data[0].get("embedding")
    if isinstance(raw, str):
        try:
            vector = np.frombuffer(base64.b64decode(raw, validate=True), dtype="<f4")
        except ValueError as exc:
            return None, f"embedding is not valid base64 float32: {exc}"
    elif isinstance(raw, list):
        vector = np.asarray(raw, dtype=np.float32)
    else:
        return None, "response has no embedding"
    if vector.shape != (dimensions,):
        return None, f"embedding has {vector.size} dimensions, expected {dimensions}"
    if not np.isfinite(vector).all():
        return None, "embedding contains NaN or infinite values"
    return vector, None


def write_embeddings(table: str, vectors: dict[int, tuple[int, np.ndarray]]) -> set[int]:
    """Store vectors, ``{row id: (input version, vector)}``, and mark their rows embedded: a binary COPY
    and one UPDATE, of the rows still queued at that version. (Triggers tell the matcher: migration 0006.)"""
    raw = connection.connection  # the psycopg connection under Django's wrapper
    register_vector(raw)
    dims = settings.EMBEDDING_DIMENSIONS
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_embedding"
            f" (id bigint PRIMARY KEY, version integer, embedding vector({dims})) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE incoming_embedding")
        copy_sql = "COPY incoming_embedding (id, version, embedding) FROM STDIN WITH (FORMAT BINARY)"
        with cursor.cursor.copy(copy_sql) as copy:
            copy.set_types(["int8", "int4", "vector"])
            for row_id, (version, vector) in vectors.items():
                copy.write_row((row_id, version, vector))
        cursor.execute(
            f"UPDATE {table} AS t SET embedding = i.embedding, embedding_status = %s, embedding_error = '',"
            " embedded_at = now(), updated_at = now() FROM incoming_embedding AS i"
            " WHERE t.id = i.id AND t.embedding_status = %s AND t.embedding_version = i.version RETURNING t.id",
            [EmbeddingStatus.EMBEDDED, EmbeddingStatus.QUEUED],
        )
        return {row[0] for row in cursor.fetchall()}


class EmbeddingKind(BatchKindSpec):
    endpoint = "/v1/embeddings"
    state = EMBEDDING_STATE

    def model_name(self) -> str:
        return settings.EMBEDDING_MODEL

    @abstractmethod
    def text(self, row) -> str:
        """What the row is embedded from."""

    def build_body(self, row) -> dict:
        return {
            "model": self.model_name(),
            "input": self.text(row),
            "dimensions": settings.EMBEDDING_DIMENSIONS,
            "encoding_format": "base64",
        }

    def read_result(self, body: dict) -> tuple[np.ndarray | None, str | None]:
        return decode_embedding(body, settings.EMBEDDING_DIMENSIONS)

    def store(self, values: dict[int, tuple[int, np.ndarray]]) -> set[int]:
        return write_embeddings(self.model._meta.db_table, values)
