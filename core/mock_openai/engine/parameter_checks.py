"""The checks OpenAI makes on the parameters of a create: refused at once with a 400 (`MockAPIError`).

Problems inside a batch's input file do not refuse the create; they fail the batch while it is
`validating` (see validation).
"""

from collections.abc import Mapping

from core.services.openai_limits import (
    BATCH_ENDPOINTS,
    COMPLETION_WINDOWS,
    METADATA_MAX_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_LENGTH,
    OUTPUT_EXPIRY_SECONDS_RANGE,
)

from .errors import bad_request


def check_metadata(metadata: object) -> dict | None:
    """Metadata as OpenAI accepts it: at most 16 string pairs, keys up to 64 and values up to 512 characters."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise bad_request("Invalid type for 'metadata': expected an object.", "metadata", "invalid_type")
    if len(metadata) > METADATA_MAX_KEYS:
        raise bad_request(
            f"Invalid 'metadata': too many properties. Expected at most {METADATA_MAX_KEYS}, got {len(metadata)}.",
            "metadata",
            "object_above_max_properties",
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or len(key) > METADATA_MAX_KEY_LENGTH:
            raise bad_request(
                f"Invalid 'metadata': keys are strings of at most {METADATA_MAX_KEY_LENGTH} characters.",
                "metadata",
                "string_above_max_length",
            )
        if not isinstance(value, str):
            raise bad_request(
                f"Invalid type for 'metadata.{key}': expected a string.", f"metadata.{key}", "invalid_type"
            )
        if len(value) > METADATA_MAX_VALUE_LENGTH:
            raise bad_request(
                f"Invalid 'metadata.{key}': string too long. Expected at most {METADATA_MAX_VALUE_LENGTH} characters.",
                f"metadata.{key}",
                "string_above_max_length",
            )
    return dict(metadata)


def check_create_parameters(
    *, input_file: dict, endpoint: object, completion_window: object, output_expires_after: object
) -> int | None:
    """Refuse what OpenAI refuses at create; returns the output files' lifetime in seconds, if one was set."""
    if endpoint not in BATCH_ENDPOINTS:
        raise bad_request(
            f"Invalid value for 'endpoint': expected one of {', '.join(BATCH_ENDPOINTS)}.", "endpoint", "invalid_value"
        )
    if completion_window not in COMPLETION_WINDOWS:
        raise bad_request(
            "Invalid value for 'completion_window': only '24h' is supported.", "completion_window", "invalid_value"
        )
    if input_file["purpose"] != "batch":
        raise bad_request(
            f"Invalid 'input_file_id': file {input_file['id']} has purpose '{input_file['purpose']}', "
            "but batch input files must have purpose 'batch'.",
            "input_file_id",
            "invalid_value",
        )
    if output_expires_after is None:
        return None
    return check_expires_after(output_expires_after, "output_expires_after")


def check_expires_after(expires_after: object, param: str) -> int:
    """Seconds of an `{"anchor": "created_at", "seconds": N}` expiration policy, N from one hour to 30 days."""
    low, high = OUTPUT_EXPIRY_SECONDS_RANGE
    if (
        not isinstance(expires_after, Mapping)
        or expires_after.get("anchor") != "created_at"
        or isinstance(expires_after.get("seconds"), bool)
        or not isinstance(expires_after.get("seconds"), int)
        or not low <= expires_after["seconds"] <= high
    ):
        raise bad_request(
            f"Invalid '{param}': expected anchor 'created_at' and seconds from {low} to {high}.", param, "invalid_value"
        )
    return expires_after["seconds"]
