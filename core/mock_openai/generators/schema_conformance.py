"""Fit a document to the JSON schema a request sent, as OpenAI's structured outputs guarantee.

With `response_format: {"type": "json_schema", ...}` the real API always answers a document valid
against that schema. The mock builds what it can (a JSON Resume, an explanation) and then reshapes it
here: properties the schema lacks are dropped when `additionalProperties` is false, missing required
properties get an empty value of the right type, and values are coerced to the declared types. Local
references (`#/$defs/...`, `#/definitions/...`) are followed.

Requests reach here only after `engine.body_checks` found their schema well formed, but conform still reads
every keyword defensively (a keyword of the wrong type is ignored, never an exception) and stops filling in
required properties `MAX_DEPTH` levels down, so a recursive schema (`{"$ref": "#"}` required) ends.

Each subschema's keywords are read once per walk and remembered, and `conform_to_request_schema` keeps
the walk of each distinct schema: a batch's 10,000 parse answers share one, and reading its keywords
again for every value of every answer was a tenth of the mock's time in the pipeline.
"""

import copy
import functools
import math
from collections.abc import Mapping

import orjson

MAX_DEPTH = 48

_EMPTY_BY_TYPE = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}, "null": None}
_NO_SCHEMA: Mapping = {}  # what a keyword of the wrong type reads as; never changed


def _resolve(schema: Mapping, root: Mapping) -> Mapping:
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
        target: object = root
        pointer = schema["$ref"].removeprefix("#").removeprefix("/")
        for part in pointer.split("/") if pointer else ():
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        schema, seen = target, seen + 1
    return schema if isinstance(schema, Mapping) else {}


def _types(schema: Mapping) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared] if declared in _EMPTY_BY_TYPE else []
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str) and t in _EMPTY_BY_TYPE]
    if "properties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return []


_FITS = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, (dict, Mapping)),  # a dict without asking the ABC
    "null": lambda value: value is None,
}


def _fits(value, type_name: str) -> bool:
    fits = _FITS.get(type_name)
    return fits is not None and fits(value)


def _coerce(value, type_name: str):
    if type_name == "string":
        if isinstance(value, list):
            return ", ".join(str(item) for item in value if item is not None)
        return "" if value is None or isinstance(value, Mapping) else str(value)
    if type_name in ("integer", "number"):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return 0
        if not math.isfinite(number):
            return 0
        return int(number) if type_name == "integer" else number
    if type_name == "boolean":
        return bool(value)
    if type_name == "array":
        return [] if value is None else [value]
    return copy.copy(_EMPTY_BY_TYPE.get(type_name))


class _Node:
    """What conform reads of one subschema (as given, before its `$ref` is followed)."""

    __slots__ = (
        "given",
        "branches",
        "branch_types",
        "enum",
        "has_const",
        "const",
        "types",
        "checks",
        "properties",
        "declared",
        "required",
        "closed",
        "items",
        "max_items",
    )

    def __init__(self, given, root: Mapping):
        self.given = given  # held, so that the id it is remembered by stays its own
        schema = _resolve(given, root)
        self.branches = None
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                self.branches = [_resolve(branch, root) for branch in schema[key]]
                self.branch_types = [_types(branch) for branch in self.branches]
                break
        enum = schema.get("enum")
        self.enum = enum if "enum" in schema and isinstance(enum, list) and enum else None
        self.has_const = "const" in schema
        self.const = schema.get("const")
        self.types = _types(schema)
        self.checks = [(t, _FITS[t]) for t in self.types]
        properties = schema.get("properties")
        self.declared = properties if isinstance(properties, Mapping) else _NO_SCHEMA
        self.properties = [
            (name, subschema if isinstance(subschema, Mapping) else _NO_SCHEMA)
            for name, subschema in self.declared.items()
        ]
        required = schema.get("required")
        self.required = {name for name in required if isinstance(name, str)} if isinstance(required, list) else set()
        self.closed = schema.get("additionalProperties") is False
        items = schema.get("items")
        self.items = items if isinstance(items, Mapping) else _NO_SCHEMA
        max_items = schema.get("maxItems")
        self.max_items = max_items if type(max_items) is int and max_items >= 0 else None


class _Walk:
    """conform over the subschemas of one root, each read once."""

    def __init__(self, root: Mapping):
        self.root = root
        self.nodes: dict[int, _Node] = {}

    def node(self, schema) -> _Node:
        node = self.nodes.get(id(schema))
        if node is None or node.given is not schema:
            node = self.nodes[id(schema)] = _Node(schema, self.root)
        return node

    def conform(self, value, schema: Mapping, depth: int):
        node = self.node(schema)
        if depth > MAX_DEPTH:
            return value
        if node.branches is not None:
            fitting = [
                branch
                for branch, types in zip(node.branches, node.branch_types, strict=True)
                if any(_fits(value, t) for t in types)
            ]
            non_null = [
                branch for branch, types in zip(node.branches, node.branch_types, strict=True) if types != ["null"]
            ]
            return self.conform(value, (fitting or non_null or node.branches)[0], depth + 1)
        if node.enum is not None:
            return value if value in node.enum else node.enum[0]
        if node.has_const:
            return node.const
        types = node.types
        if not types:
            return value
        matching = None
        for type_name, fits in node.checks:
            if fits(value):
                matching = type_name
                break
        if matching is None:
            if value is None and "null" in types:
                return None
            matching = next((t for t in types if t != "null"), types[0])
            value = _coerce(value, matching)
        if matching == "object":
            return self._object(value, node, depth)
        if matching == "array":
            items = [self.conform(item, node.items, depth + 1) for item in value]
            return items if node.max_items is None else items[: node.max_items]
        return value

    def _object(self, value: Mapping, node: _Node, depth: int) -> dict:
        result = {}
        for name, subschema in node.properties:
            if name in value:
                result[name] = self.conform(value[name], subschema, depth + 1)
            elif name in node.required and depth < MAX_DEPTH:
                result[name] = self.conform(self._empty_for(subschema), subschema, depth + 1)
        if not node.closed:
            result.update({k: v for k, v in value.items() if k not in node.declared})
        return result

    def _empty_for(self, schema: Mapping):
        types = self.node(schema).types
        if "null" in types:
            return None
        return copy.copy(_EMPTY_BY_TYPE.get(types[0])) if types else None


def conform(value, schema: Mapping, root: Mapping | None = None, depth: int = 0):
    """`value` reshaped so that it validates against `schema` (for the schemas structured outputs accept)."""
    return _Walk(schema if root is None else root).conform(value, schema, depth)


def conform_to_request_schema(value, schema: Mapping):
    """``conform(value, schema)`` for a request's schema, with the walk of each distinct schema kept.

    The schema comes from a batch line parsed by orjson, which holds no NaN or infinity, so its orjson
    text names it exactly; one orjson cannot write (too deep, an integer past 64 bits) is walked afresh."""
    try:
        encoded = orjson.dumps(schema)
    except orjson.JSONEncodeError:
        return conform(value, schema)
    walk = _walk_of(encoded)
    return walk.conform(value, walk.root, 0)


@functools.lru_cache(maxsize=32)
def _walk_of(encoded: bytes) -> _Walk:
    return _Walk(orjson.loads(encoded))
