"""The four batch kinds by name."""

from __future__ import annotations

from functools import cache

from core.pipeline.kinds import BatchKindSpec


@cache
def all_kinds() -> dict[str, BatchKindSpec]:
    from core.matching.batch_explainer import ExplanationKind
    from core.matching.embeddings import CvEmbeddingKind, JobEmbeddingKind
    from core.parsing.batch_parser import CvParseKind

    kinds = (CvParseKind(), CvEmbeddingKind(), JobEmbeddingKind(), ExplanationKind())
    return {spec.kind: spec for spec in kinds}


def get_kind(name: str) -> BatchKindSpec:
    try:
        return all_kinds()[name]
    except KeyError:
        raise ValueError(f"unknown batch kind {name!r}; expected one of {', '.join(all_kinds())}") from None
