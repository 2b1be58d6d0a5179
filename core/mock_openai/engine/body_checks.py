"""The shape of a request body, checked before anything reads it: every malformed field is the per-request
400 `invalid_request_error` OpenAI answers, naming the param, never an exception out of the engine.

`request_checks.request_error` runs these first; what they let through is safe for the generators to read
(messages are objects with a known role and string or part-list content, a `json_schema` response format
has a name and a schema whose keywords have the types JSON Schema gives them, token arrays hold integers).
"""

import functools
import re
from collections.abc import Mapping

import orjson

from .errors import MockAPIError, bad_request

MESSAGE_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema")
SCHEMA_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
SCHEMA_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object", "null"})
MAX_SCHEMA_DEPTH = 64  # nested subschemas; deeper is refused (OpenAI's strict mode allows far less)
MAX_SCHEMA_NODES = 10_000  # subschemas in one schema
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONES = ("items", "additionalProperties", "not", "contains")
_COUNTS = ("maxItems", "minItems", "maxLength", "minLength", "maxProperties", "minProperties")


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _invalid_type(param: str, expected: str, value: object) -> MockAPIError:
    return bad_request(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param,
        "invalid_type",
    )


def model_error(body: Mapping) -> MockAPIError | None:
    model = body.get("model")  # a batch without one fails validation; a missing one is not this check's
    if model is not None and not isinstance(model, str):
        return _invalid_type("model", "a string", model)
    return None


def messages_error(body: Mapping) -> MockAPIError | None:
    """Each message an object with a known role and content that is a string, a list of parts, or null."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None  # request_checks answers a missing or non-list `messages`
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return _invalid_type(f"messages[{i}]", "an object", message)
        role = message.get("role")
        if not isinstance(role, str) or role not in MESSAGE_ROLES:
            return bad_request(
                f"Invalid value for 'messages[{i}].role': expected one of {', '.join(MESSAGE_ROLES)}.",
                f"messages[{i}].role",
                "invalid_value",
            )
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
                    return _invalid_type(f"messages[{i}].content[{j}]", "an object with a string 'type'", part)
        elif content is not None and not isinstance(content, str):
            return _invalid_type(f"messages[{i}].content", "a string or an array of content parts", content)
    return None


def response_format_error(body: Mapping) -> MockAPIError | None:
    """`response_format`: a known type; for `json_schema`, a valid name and a well-formed schema."""
    response_format = body.get("response_format")
    if response_format is None:
        return None
    if not isinstance(response_format, Mapping):
        return _invalid_type("response_format", "an object", response_format)
    kind = response_format.get("type")
    if not isinstance(kind, str) or kind not in RESPONSE_FORMAT_TYPES:
        return bad_request(
            f"Invalid value for 'response_format.type': expected one of {', '.join(RESPONSE_FORMAT_TYPES)}.",
            "response_format.type",
            "invalid_value",
        )
    if kind != "json_schema":
        return None
    json_schema = response_format.get("json_schema")
    if json_schema is None:
        return bad_request(
            "Missing required parameter: 'response_format.json_schema'.",
            "response_format.json_schema",
            "missing_required_parameter",
        )
    if not isinstance(json_schema, Mapping):
        return _invalid_type("response_format.json_schema", "an object", json_schema)
    name = json_schema.get("name")
    if name is None:
        return bad_request(
            "Missing required parameter: 'response_format.json_schema.name'.",
            "response_format.json_schema.name",
            "missing_required_parameter",
        )
    if not isinstance(name, str) or not SCHEMA_NAME_RE.fullmatch(name):
        return bad_request(
            "Invalid 'response_format.json_schema.name': must be 1 to 64 letters, digits, underscores or dashes.",
            "response_format.json_schema.name",
            "invalid_value",
        )
    strict = json_schema.get("strict")
    if strict is not None and not isinstance(strict, bool):
        return _invalid_type("response_format.json_schema.strict", "a boolean", strict)
    schema = json_schema.get("schema")
    if schema is None:
        return None
    if not isinstance(schema, Mapping):
        return _invalid_type("response_format.json_schema.schema", "an object", schema)
    problem = _remembered_schema_problem(schema)
    if problem is None:
        return None
    return bad_request(
        f"Invalid schema for response_format '{name}': {problem}",
        "response_format.json_schema.schema",
        "invalid_json_schema",
    )


def _is_schema(value: object) -> bool:
    return isinstance(value, Mapping | bool)


def _keyword_problem(node: Mapping, keyword: str) -> str | None:
    """What is wrong with one keyword of a schema node (its own value, not its subschemas)."""
    value = node[keyword]
    if keyword == "type":
        names = value if isinstance(value, list) else [value]
        if not names or not all(isinstance(t, str) and t in SCHEMA_TYPES for t in names):
            return f"'type' must be one of {', '.join(sorted(SCHEMA_TYPES))} or a non-empty array of them"
    elif keyword == "required":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return "'required' must be an array of strings"
    elif keyword in ("enum",):
        if not isinstance(value, list) or not value:
            return "'enum' must be a non-empty array"
    elif keyword == "$ref":
        if not isinstance(value, str) or not value.startswith("#"):
            return "'$ref' must be a string naming a local reference ('#/$defs/...')"
    elif keyword in _SCHEMA_MAPS:
        if not isinstance(value, Mapping) or not all(_is_schema(sub) for sub in value.values()):
            return f"'{keyword}' must be an object whose values are schemas"
    elif keyword in _SCHEMA_LISTS:
        if not isinstance(value, list) or not value or not all(_is_schema(sub) for sub in value):
            return f"'{keyword}' must be a non-empty array of schemas"
    elif keyword in _SCHEMA_ONES:
        if not _is_schema(value):
            return f"'{keyword}' must be a schema (an object or a boolean)"
    elif keyword in _COUNTS and (type(value) is not int or value < 0):
        return f"'{keyword}' must be a non-negative integer"
    return None


def _subschemas(node: Mapping):
    for keyword in _SCHEMA_MAPS:
        if isinstance(node.get(keyword), Mapping):
            for key, sub in node[keyword].items():
                yield (keyword, key), sub
    for keyword in _SCHEMA_LISTS:
        if isinstance(node.get(keyword), list):
            for index, sub in enumerate(node[keyword]):
                yield (keyword, index), sub
    for keyword in _SCHEMA_ONES:
        if keyword in node:
            yield (keyword,), node[keyword]


def _remembered_schema_problem(schema: Mapping) -> str | None:
    """``schema_problem``, walked once per distinct schema: a batch's requests nearly always share one,
    and walking it for each of 10,000 parse requests was most of their validation."""
    try:
        encoded = orjson.dumps(schema)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes: walked (and refused for its depth)
        return schema_problem(schema)
    return _problem_of_encoded(encoded)


@functools.lru_cache(maxsize=32)
def _problem_of_encoded(encoded: bytes) -> str | None:
    return schema_problem(orjson.loads(encoded))


def schema_problem(schema: Mapping) -> str | None:
    """What makes `schema` malformed (keywords of the wrong type, too deep, too large), or None.

    Iterative, so that no nesting depth can exhaust the stack."""
    stack: list[tuple[object, tuple, int]] = [(schema, (), 0)]
    nodes = 0
    while stack:
        node, context, depth = stack.pop()
        nodes += 1
        if nodes > MAX_SCHEMA_NODES:
            return f"the schema has more than {MAX_SCHEMA_NODES} subschemas."
        if depth > MAX_SCHEMA_DEPTH:
            return f"In context={context!r}, the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep."
        if isinstance(node, bool):
            continue
        if not isinstance(node, Mapping):
            return f"In context={context!r}, a schema must be an object or a boolean."
        for keyword in node:
            problem = _keyword_problem(node, keyword)
            if problem is not None:
                return f"In context={context!r}, {problem}."
        for path, sub in _subschemas(node):
            stack.append((sub, context + path, depth + 1))
    return None


def embedding_input_error(body: Mapping) -> MockAPIError | None:
    """Token arrays (in `input`, or as its items) hold non-negative integers only."""
    value = body.get("input")
    arrays = [value] if isinstance(value, list) and value and not isinstance(value[0], str | list) else []
    if isinstance(value, list):
        arrays += [item for item in value if isinstance(item, list)]
    for array in arrays:
        if not all(type(token) is int and token >= 0 for token in array):
            return bad_request(
                "'$.input' is invalid: a token array must hold non-negative integers.", "input", "invalid_type"
            )
    return None
