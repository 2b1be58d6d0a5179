"""The checks OpenAI makes on a batch: its parameters at create time, its input file while validating.

Parameter errors are refused at once with a 400 (`MockAPIError`). Input-file errors do not refuse the
create: the batch ends `failed` with `errors.data` entries `{code, message, param, line}`, as OpenAI
reports them. The file is read line by line (never whole); the same pass records where every
`CHECKPOINT_EVERY`-th request starts, so execution can later split the file between processes, and
counts what the run will produce so `request_counts` can grow believably while the batch runs.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from .mock_errors import bad_request
from .mock_responses import injected_failure, request_error
from .openai_limits import (
    BATCH_ENDPOINTS,
    COMPLETION_WINDOWS,
    MAX_EMBEDDING_INPUTS,
    MAX_FILE_BYTES,
    MAX_REQUESTS_PER_BATCH,
    METADATA_MAX_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_LENGTH,
    OUTPUT_EXPIRY_SECONDS_RANGE,
    embedding_inputs,
    estimate_request_tokens,
)

CHECKPOINT_EVERY = 256
MAX_REPORTED_ERRORS = 100


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


@dataclass
class InputScan:
    """What validation learnt about an input file; stored in the batch record (JSON-ready via `asdict`)."""

    requests: int = 0
    model: str | None = None
    embedding_inputs: int = 0
    input_tokens: int = 0
    expected_failed: int = 0
    checkpoints: list = field(default_factory=list)  # [request index, byte offset] pairs
    errors: list = field(default_factory=list)  # BatchError dicts; any error fails the batch

    def to_record(self) -> dict:
        return asdict(self)


class _Scanner:
    def __init__(self, endpoint: str, seed: int, failure_rate: float):
        self.endpoint = endpoint
        self.seed = seed
        self.failure_rate = failure_rate
        self.scan = InputScan()
        self.custom_ids: set[str] = set()

    def error(self, code: str, message: str, line: int | None = None, param: str | None = None) -> None:
        if len(self.scan.errors) < MAX_REPORTED_ERRORS:
            self.scan.errors.append({"code": code, "message": message, "param": param, "line": line})

    def line(self, number: int, offset: int, raw: bytes) -> None:
        try:
            request = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.error("invalid_json_line", f"Line {number} is not valid JSON.", number)
            return
        if not isinstance(request, dict):
            self.error("invalid_json_line", f"Line {number} is not a JSON object.", number)
            return
        scan = self.scan
        if scan.requests % CHECKPOINT_EVERY == 0:
            scan.checkpoints.append([scan.requests, offset])
        scan.requests += 1
        if scan.requests == MAX_REQUESTS_PER_BATCH + 1:
            self.error("too_many_requests", f"The file has more than {MAX_REQUESTS_PER_BATCH} requests.", number)
        self.request_fields(number, request)

    def request_fields(self, number: int, request: dict) -> None:
        custom_id = request.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            self.error("missing_custom_id", f"Line {number} has no custom_id.", number, "custom_id")
        elif custom_id in self.custom_ids:
            self.error(
                "duplicate_custom_id",
                f"The custom_id '{custom_id}' on line {number} is not unique.",
                number,
                "custom_id",
            )
        else:
            self.custom_ids.add(custom_id)
        if request.get("method") != "POST":
            self.error(
                "invalid_method",
                f"Line {number} uses method {request.get('method')!r}; only POST is supported.",
                number,
                "method",
            )
        url = request.get("url")
        if url != self.endpoint:
            self.error(
                "mismatched_endpoint",
                f"Line {number} targets {url!r}, but the batch's endpoint is {self.endpoint}.",
                number,
                "url",
            )
        body = request.get("body")
        if not isinstance(body, dict):
            self.error("invalid_body", f"Line {number} has no JSON object as body.", number, "body")
            return
        model = body.get("model")
        if not isinstance(model, str) or not model:
            self.error("missing_model", f"Line {number} names no model.", number, "body.model")
        elif self.scan.model is None:
            self.scan.model = model
        elif model != self.scan.model:
            self.error(
                "mismatched_model",
                f"Line {number} uses model '{model}', but the file's first request uses '{self.scan.model}'; "
                "a batch uses one model.",
                number,
                "body.model",
            )
        scan = self.scan
        if self.endpoint == "/v1/embeddings":
            scan.embedding_inputs += len(embedding_inputs(body))
        scan.input_tokens += estimate_request_tokens(self.endpoint, body)
        if isinstance(custom_id, str) and (
            request_error(self.endpoint, body) or injected_failure(self.seed, self.failure_rate, custom_id)
        ):
            scan.expected_failed += 1

    def finish(self, last_line: int) -> InputScan:
        scan = self.scan
        if scan.requests == 0 and not scan.errors:
            self.error("empty_file", "The input file has no requests.")
        if self.endpoint == "/v1/embeddings" and scan.embedding_inputs > MAX_EMBEDDING_INPUTS:
            self.error(
                "too_many_embedding_inputs",
                f"The file has {scan.embedding_inputs} embedding inputs; an embeddings batch takes at most "
                f"{MAX_EMBEDDING_INPUTS}.",
                last_line,
            )
        return scan


def scan_input_file(path: Path, size: int, endpoint: str, *, seed: int, failure_rate: float) -> InputScan:
    """Validate an input file the way OpenAI does while a batch is `validating`."""
    scanner = _Scanner(endpoint, seed, failure_rate)
    if size > MAX_FILE_BYTES:
        scanner.error("file_too_large", f"The input file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes.")
        return scanner.scan
    offset, number = 0, 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                scanner.line(number, offset, raw)
            offset += len(raw)
    return scanner.finish(number)
