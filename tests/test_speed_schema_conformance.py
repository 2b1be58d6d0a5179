"""A request's schema is walked once and kept: later answers fitted to it come out as a fresh walk's.

`conform_to_request_schema` keeps each distinct schema's walk (keyed by its orjson text) with every
subschema's keywords read once; whatever the schema (references, recursion, branches, keywords of the
wrong type) and however many values it fits, the result must be byte for byte what `conform` gives.
"""

from __future__ import annotations

import copy

import orjson
from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.generators.schema_conformance import conform, conform_to_request_schema
from core.stages.resume_schema import RESUME_SCHEMA, schema_violation
from tests.fuzz_budget import FUZZ

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=3)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=3),
    max_leaves=12,
)
_TYPES = st.sampled_from(["string", "integer", "number", "boolean", "array", "object", "null", "bogus"])


def _schema(inner):
    return st.fixed_dictionaries(
        {},
        optional={
            "type": _TYPES | st.lists(_TYPES, max_size=3) | st.just(5),
            "properties": st.dictionaries(st.sampled_from("abc"), inner, max_size=3) | st.just([1]),
            "required": st.lists(st.sampled_from(["a", "b", "c", 1]), max_size=3) | st.just("a"),
            "additionalProperties": st.booleans() | inner,
            "items": inner | st.just([]),
            "maxItems": st.integers(-1, 3) | st.just(True),
            "anyOf": st.lists(inner, max_size=3) | st.just({}),
            "oneOf": st.lists(inner, max_size=2),
            "enum": st.lists(_SCALARS, max_size=3) | st.just("x"),
            "const": _VALUES,
            "$ref": st.sampled_from(["#", "#/$defs/x", "#/$defs/y", "#/nowhere", "#/properties/a"]),
        },
    )


_SCHEMAS = st.builds(
    lambda schema, x, y: {**schema, "$defs": {"x": x, "y": y}},
    *[st.recursive(_schema(st.just({})), _schema, max_leaves=8)] * 3,
)


@FUZZ
@given(_SCHEMAS, st.lists(_VALUES, min_size=1, max_size=4))
def test_a_kept_walk_fits_every_value_as_a_fresh_walk_does(schema, values):
    for value in values:
        fresh = conform(copy.deepcopy(value), schema)
        kept = conform_to_request_schema(copy.deepcopy(value), schema)
        assert orjson.dumps(kept) == orjson.dumps(fresh), (schema, value)


def test_resumes_fitted_to_the_parse_schema_are_valid_and_each_its_own():
    documents = [
        {"basics": {"name": "Ada", "email": 3, "extra": 1}, "work": [{"name": "X", "highlights": "one"}]},
        {"basics": None, "skills": [{"name": "Python", "keywords": ["Django", None]}], "junk": True},
    ]
    fitted = [conform_to_request_schema(document, RESUME_SCHEMA) for document in documents]
    assert [schema_violation(document) for document in fitted] == [None, None]
    assert fitted[0]["basics"]["email"] == "3" and "extra" not in fitted[0]["basics"]
    assert fitted[1]["basics"]["name"] == "" and fitted[1]["skills"][0]["keywords"] == ["Django", ""]
    assert fitted == [conform(document, RESUME_SCHEMA) for document in documents]


def test_a_schema_orjson_cannot_write_is_walked_afresh():
    schema = {"enum": [2**70, 1]}  # an integer past 64 bits
    assert conform_to_request_schema(5, schema) == 2**70
