"""The JSON Resume subset that parsing asks the model for.

Written for OpenAI's strict structured outputs: every object lists all its properties as required and
forbids others, and a value the CV may not contain is nullable rather than optional.
"""

from functools import cache

from jsonschema import Draft202012Validator

NULLABLE_STRING = {"type": ["string", "null"]}

RESUME_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["basics", "work", "education", "skills"],
    "properties": {
        "basics": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "label", "email", "phone", "summary", "location"],
            "properties": {
                "name": {"type": "string"},
                "label": NULLABLE_STRING,
                "email": NULLABLE_STRING,
                "phone": NULLABLE_STRING,
                "summary": NULLABLE_STRING,
                "location": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "required": ["city", "region", "countryCode"],
                    "properties": {"city": NULLABLE_STRING, "region": NULLABLE_STRING, "countryCode": NULLABLE_STRING},
                },
            },
        },
        "work": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "position", "startDate", "endDate", "summary", "highlights"],
                "properties": {
                    "name": NULLABLE_STRING,
                    "position": NULLABLE_STRING,
                    "startDate": NULLABLE_STRING,
                    "endDate": NULLABLE_STRING,
                    "summary": NULLABLE_STRING,
                    "highlights": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "education": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["institution", "area", "studyType", "startDate", "endDate"],
                "properties": {
                    "institution": NULLABLE_STRING,
                    "area": NULLABLE_STRING,
                    "studyType": NULLABLE_STRING,
                    "startDate": NULLABLE_STRING,
                    "endDate": NULLABLE_STRING,
                },
            },
        },
        "skills": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "keywords"],
                "properties": {"name": {"type": "string"}, "keywords": {"type": "array", "items": {"type": "string"}}},
            },
        },
    },
}

RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "json_resume", "strict": True, "schema": RESUME_SCHEMA},
}


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(RESUME_SCHEMA)


def schema_violation(document) -> str | None:
    """The first way ``document`` breaks the schema, as 'path: message', or None if it is valid."""
    error = next(iter(sorted(validator().iter_errors(document), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    path = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{path}: {error.message}"
