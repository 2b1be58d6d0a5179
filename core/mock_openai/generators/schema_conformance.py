"""Fit a document to the JSON schema a request sent, as OpenAI's structured outputs guarantee.

With `response_format: {"type": "json_schema", ...}` the real API always answers a document valid
against that schema. The mock builds what it can (a JSON Resume, an explanation) and then reshapes it
here: properties the schema lacks are dropped when `additionalProperties` is false, missing required
properties get an empty value of the right type, and values are coerced to the declared types. Local
references (`#/$defs/...`, `#/definitions/...`) are followed.

Requests reach here only after `engine.body_checks` found their schema well formed, but conform still reads
every keyword defensively (a keyword of the wrong type is ignored, never an exception) and stops filling in
required properties `MAX_DEPTH` levels down, so a recursive schema (`{"$ref": "#"}` required) ends.
"""

import copy
import math
from collections.abc import Mapping

MAX_DEPTH = 48

_EMPTY_BY_TYPE = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}, "null": None}


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


def _fits(value, type_name: str) -> bool:
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, Mapping),
        "null": value is None,
    }.get(type_name, False)


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


def conform(value, schema: Mapping, root: Mapping | None = None, depth: int = 0):
    """`value` reshaped so that it validates against `schema` (for the schemas structured outputs accept)."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if depth > MAX_DEPTH:
        return value
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            branches = [_resolve(branch, root) for branch in schema[key]]
            fitting = [b for b in branches if any(_fits(value, t) for t in _types(b))]
            non_null = [b for b in branches if _types(b) != ["null"]]
            return conform(value, (fitting or non_null or branches)[0], root, depth + 1)
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return value if value in schema["enum"] else schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    types = _types(schema)
    if not types:
        return value
    matching = next((t for t in types if _fits(value, t)), None)
    if matching is None:
        if value is None and "null" in types:
            return None
        matching = next((t for t in types if t != "null"), types[0])
        value = _coerce(value, matching)
    if matching == "object":
        return _conform_object(value, schema, root, depth)
    if matching == "array":
        item_schema = schema.get("items")
        item_schema = item_schema if isinstance(item_schema, Mapping) else {}
        items = [conform(item, item_schema, root, depth + 1) for item in value]
        max_items = schema.get("maxItems")
        return items[:max_items] if type(max_items) is int and max_items >= 0 else items
    return value


def _conform_object(value: Mapping, schema: Mapping, root: Mapping, depth: int) -> dict:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    required = {name for name in required if isinstance(name, str)} if isinstance(required, list) else set()
    closed = schema.get("additionalProperties") is False
    result = {}
    for name, subschema in properties.items():
        subschema = subschema if isinstance(subschema, Mapping) else {}
        if name in value:
            result[name] = conform(value[name], subschema, root, depth + 1)
        elif name in required and depth < MAX_DEPTH:
            result[name] = conform(_empty_for(subschema, root), subschema, root, depth + 1)
    if not closed:
        result.update({k: v for k, v in value.items() if k not in properties})
    return result


def _empty_for(schema: Mapping, root: Mapping):
    schema = _resolve(schema, root)
    types = _types(schema)
    if "null" in types:
        return None
    return copy.copy(_EMPTY_BY_TYPE.get(types[0])) if types else None
