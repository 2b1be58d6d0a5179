"""The checks OpenAI makes on a batch's input file while the batch is `validating`.

Input-file errors do not refuse the create: the batch ends `failed` with `errors.data` entries
`{code, message, param, line}`, as OpenAI reports them. The file is read line by line (never whole);
the same pass records where every `CHECKPOINT_EVERY`-th request starts, so execution can later split
the file between processes, and counts what the run will produce so `request_counts` can grow
believably while the batch runs.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from core.services.openai_limits import (
    MAX_EMBEDDING_INPUTS,
    MAX_FILE_BYTES,
    MAX_REQUESTS_PER_BATCH,
    embedding_inputs,
    estimate_request_tokens,
)

from .injected_failures import injected_failure
from .request_checks import request_error
from .scripted_outcomes import OK, Script, scripted_outcome, stored_script
from .storage import MockStorage

CHECKPOINT_EVERY = 256
MAX_REPORTED_ERRORS = 100


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


def _batch_error(code: str, message: str, line: int | None = None, param: str | None = None) -> dict:
    return {"code": code, "message": message, "param": param, "line": line}


class _Scanner:
    def __init__(
        self,
        endpoint: str,
        seed: int,
        failure_rate: float,
        count_tokens: bool,
        script: Script = (),
        prior_attempts: Mapping[str, int] | None = None,
    ):
        self.endpoint = endpoint
        self.script = script
        self.prior_attempts = prior_attempts or {}
        self.count_tokens = count_tokens
        self.seed = seed
        self.failure_rate = failure_rate
        self.scan = InputScan()
        self.custom_ids: set[str] = set()

    def error(self, code: str, message: str, line: int | None = None, param: str | None = None) -> None:
        if len(self.scan.errors) < MAX_REPORTED_ERRORS:
            self.scan.errors.append(_batch_error(code, message, line, param))

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
        custom_id = self._custom_id(number, request)
        self._method_and_url(number, request)
        body = request.get("body")
        if not isinstance(body, dict):
            self.error("invalid_body", f"Line {number} has no JSON object as body.", number, "body")
            return
        self._model(number, body)
        self._count(custom_id, body)

    def _custom_id(self, number: int, request: dict) -> object:
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
        return custom_id

    def _method_and_url(self, number: int, request: dict) -> None:
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

    def _model(self, number: int, body: dict) -> None:
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

    def _count(self, custom_id: object, body: dict) -> None:
        """What the request adds to the batch's inputs, tokens and expected failures."""
        scan = self.scan
        if self.endpoint == "/v1/embeddings":
            scan.embedding_inputs += len(embedding_inputs(body))
        if self.count_tokens:  # only an enqueued-token limit needs the file's total; counting is not free
            scan.input_tokens += estimate_request_tokens(self.endpoint, body)
        if isinstance(custom_id, str) and self._fails(custom_id, body):
            scan.expected_failed += 1

    def _fails(self, custom_id: str, body: dict) -> bool:
        """Whether the request will fail: by itself, by the script, or by an injected failure."""
        if request_error(self.endpoint, body):
            return True
        if self.script:
            outcome = scripted_outcome(self.script, custom_id, self.prior_attempts.get(custom_id, 0))
            if outcome is not None:
                return outcome != OK
        return injected_failure(self.seed, self.failure_rate, custom_id) is not None

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


def scan_input_file(
    path: Path,
    size: int,
    endpoint: str,
    *,
    seed: int,
    failure_rate: float,
    count_tokens: bool = True,
    script: Script = (),
    prior_attempts: Mapping[str, int] | None = None,
) -> InputScan:
    """Validate an input file the way OpenAI does while a batch is `validating`."""
    scanner = _Scanner(endpoint, seed, failure_rate, count_tokens, script, prior_attempts or {})
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


def validate_batch_input(storage: MockStorage, batch: dict, run: dict, prior_attempts=None) -> InputScan:
    """The scan of a batch's input (the batch's own copy, which outlives a delete of the file), with the
    errors that fail the batch: the file's own, or no input at all (only a batch created before batches
    kept their input, whose file was deleted). The organisation queue's limits are org_queue's."""
    path = storage.batch_input(batch)
    try:
        size = path.stat().st_size if path else None
    except FileNotFoundError:
        size = None
    if size is None:
        return InputScan(errors=[_batch_error("missing_input_file", "The input file was deleted.")])
    return scan_input_file(
        path,
        size,
        batch["endpoint"],
        seed=run["seed"],
        failure_rate=run["failure_rate"],
        count_tokens=run["enqueued_token_limit"] is not None,
        script=stored_script(run.get("script") or ()),
        prior_attempts=prior_attempts or {},
    )
