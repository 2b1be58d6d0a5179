"""The one interface of the mock's answer generators, and the request they answer."""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import NamedTuple


class Request(NamedTuple):
    """One valid batch request, with the batch's seed and clock (`created`) an answer may depend on."""

    custom_id: str
    body: Mapping
    seed: int
    created: int


class Generator(ABC):
    """Answers the requests of `endpoint` that it claims, with response bodies in OpenAI's shape."""

    endpoint: str

    def claims(self, request: Request) -> bool:
        """Whether this generator answers the request; the registry asks its generators in order."""
        return True

    @abstractmethod
    def answer(self, requests: Sequence[Request]) -> list[dict]:
        """One response body per request, in order. A chunk's requests come in one call, so a model can
        work on them together (all vectors of a chunk in one numpy call)."""
