"""Cutting pending work into batches that OpenAI will accept and the team's budget allows."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from core.batches.queue import tokens_in_flight
from core.services.openai_limits import (
    MAX_EMBEDDING_INPUTS,
    MAX_FILE_BYTES,
    MAX_REQUESTS_PER_BATCH,
    embedding_inputs,
    estimate_request_tokens,
)


@dataclass
class BatchLimits:
    max_requests: int = MAX_REQUESTS_PER_BATCH
    max_bytes: int = MAX_FILE_BYTES
    max_embedding_inputs: int = MAX_EMBEDDING_INPUTS
    max_tokens: int | None = None  # the organisation's enqueued-token limit for the model
    tokens_in_flight: int = 0  # what our batches in flight already hold of it

    @classmethod
    def for_kind(cls, kind: str, model: str) -> BatchLimits:
        budget = settings.BATCH_ENQUEUED_TOKEN_BUDGET
        return cls(
            max_requests=min(MAX_REQUESTS_PER_BATCH, settings.BATCH_MAX_REQUESTS[kind]),
            max_tokens=budget,
            tokens_in_flight=tokens_in_flight(model) if budget is not None else 0,
        )

    @property
    def token_room(self) -> int | None:
        return None if self.max_tokens is None else self.max_tokens - self.tokens_in_flight


@dataclass
class BatchPlan:
    """Running totals of the batch being written; ``admit`` says whether one more line still fits."""

    limits: BatchLimits
    requests: int = 0
    bytes: int = 0
    embedding_inputs: int = 0
    tokens: int = 0
    refused_reason: str = field(default="")

    def _alone(self) -> bool:
        """The first request with nothing of ours in flight goes even over the budget: else a request larger
        than the whole budget would wait forever (OpenAI then refuses it, with its reason)."""
        return not self.requests and not self.limits.tokens_in_flight

    def admit(self, url: str, body: dict, line_bytes: int) -> bool:
        inputs = len(embedding_inputs(body)) if url == "/v1/embeddings" else 0
        tokens = estimate_request_tokens(url, body)
        limits = self.limits
        if self.requests + 1 > limits.max_requests:
            self.refused_reason = f"request limit {limits.max_requests}"
        elif self.bytes + line_bytes > limits.max_bytes:
            self.refused_reason = f"file size limit {limits.max_bytes} bytes"
        elif self.embedding_inputs + inputs > limits.max_embedding_inputs:
            self.refused_reason = f"embedding input limit {limits.max_embedding_inputs}"
        elif limits.token_room is not None and self.tokens + tokens > limits.token_room and not self._alone():
            self.refused_reason = f"enqueued-token budget {limits.max_tokens} ({limits.tokens_in_flight} in flight)"
        else:
            self.requests += 1
            self.bytes += line_bytes
            self.embedding_inputs += inputs
            self.tokens += tokens
            return True
        return False
