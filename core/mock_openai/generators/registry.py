"""The registered generators, and the dispatch that hands each valid request to the one that claims it.

Order matters: the first generator of the request's endpoint that claims it answers it, so a catch-all
(`ExplanationAnswers` for chat) comes after the generators it leaves room for.
"""

from collections.abc import Sequence

from .base import Generator, Request
from .explanation_answers import ExplanationAnswers
from .hashed_embeddings import HashedEmbeddings
from .resume_answers import ResumeAnswers

GENERATORS: tuple[Generator, ...] = (ResumeAnswers(), ExplanationAnswers(), HashedEmbeddings())


def generate(endpoint: str, requests: Sequence[Request]) -> list[dict]:
    """Response bodies for valid requests of `endpoint`, each generator answering its share in one call."""
    candidates = [generator for generator in GENERATORS if generator.endpoint == endpoint]
    shares: dict[Generator, list[int]] = {}
    for index, request in enumerate(requests):
        for generator in candidates:
            if generator.claims(request):
                shares.setdefault(generator, []).append(index)
                break
        else:
            raise LookupError(f"No generator answers {endpoint} request {request.custom_id!r}")
    bodies: list[dict] = [{} for _ in requests]
    for generator, indexes in shares.items():
        for index, body in zip(indexes, generator.answer([requests[i] for i in indexes]), strict=True):
            bodies[index] = body
    return bodies
