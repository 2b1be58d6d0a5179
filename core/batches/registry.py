"""The batch kinds by name, in pipeline order: the one list every per-stage list derives from.

The engine only knows kinds through this registry; ``core.stages`` registers the kinds when the
app is ready (``CoreConfig.ready``), so the engine never imports the stages that build on it.
"""

from __future__ import annotations

from core.batches.kinds import BatchKindSpec

_KINDS: dict[str, BatchKindSpec] = {}


def register(spec: BatchKindSpec) -> BatchKindSpec:
    if spec.kind in _KINDS:
        raise ValueError(f"batch kind {spec.kind!r} is already registered")
    _KINDS[spec.kind] = spec
    return spec


def all_kinds() -> dict[str, BatchKindSpec]:
    """Every kind, in the order the pipeline runs them (the order they were registered)."""
    return dict(_KINDS)


def get_kind(name: str) -> BatchKindSpec:
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown batch kind {name!r}; expected one of {', '.join(_KINDS)}") from None
