"""Fit a document to the JSON schema a request sent, as OpenAI's structured outputs guarantee.

With `response_format: {"type": "json_schema", ...}` the real API always answers a document valid
against that schema. The mock builds what it can (a JSON Resume, an explanation) and then reshapes it
here: properties the schema lacks are dropped when `additionalProperties` is false, missing required
properties get an empty value of the right type, and values are coerced to the declared types. Local
references (`#/$defs/...`, `#/definitions/...`) are followed.
"""

from collections.abc import Mapping

_EMPTY_BY_TYPE = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}, "null": None}


def _resolve(schema: Mapping, root: Mapping) -> Mapping:
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
        target: object = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        schema, seen = target, seen + 1
    return schema if isinstance(schema, Mapping) else {}


def _types(schema: Mapping) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
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
        except (TypeError, ValueError):
            return 0
        return int(number) if type_name == "integer" else number
    if type_name == "boolean":
        return bool(value)
    if type_name == "array":
        return [] if value is None else [value]
    return _EMPTY_BY_TYPE.get(type_name)


def conform(value, schema: Mapping, root: Mapping | None = None):
    """`value` reshaped so that it validates against `schema` (for the schemas structured outputs accept)."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            branches = [_resolve(branch, root) for branch in schema[key]]
            fitting = [b for b in branches if any(_fits(value, t) for t in _types(b))]
            non_null = [b for b in branches if _types(b) != ["null"]]
            return conform(value, (fitting or non_null or branches)[0], root)
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
        return _conform_object(value, schema, root)
    if matching == "array":
        item_schema = schema.get("items", {})
        items = [conform(item, item_schema, root) for item in value]
        max_items = schema.get("maxItems")
        return items[:max_items] if isinstance(max_items, int) else items
    return value


def _conform_object(value: Mapping, schema: Mapping, root: Mapping) -> dict:
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    closed = schema.get("additionalProperties") is False
    result = {}
    for name, subschema in properties.items():
        if name in value:
            result[name] = conform(value[name], subschema, root)
        elif name in required:
            result[name] = conform(_empty_for(subschema, root), subschema, root)
    if not closed:
        result.update({k: v for k, v in value.items() if k not in properties})
    return result


def _empty_for(schema: Mapping, root: Mapping):
    schema = _resolve(schema, root)
    types = _types(schema)
    if "null" in types:
        return None
    return _EMPTY_BY_TYPE.get(types[0]) if types else None
