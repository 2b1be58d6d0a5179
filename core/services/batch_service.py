"""`BatchService`: the one entry point the app uses for the Batch API, on the mock or on OpenAI.

The backend is chosen once, at construction: the mock (`MockOpenAIClient`) when `use_mock=True`, or
`USE_MOCK_BATCH=true`, or when USE_MOCK_BATCH is unset and no OPENAI_API_KEY is set; otherwise the
official `openai.OpenAI` client (honouring OPENAI_BASE_URL). Both expose the same `files` and
`batches` resources and types, so everything below is written once, against the SDK's interface.
Output files are read through `with_streaming_response`, so a file is never held whole in memory. On
OpenAI, with OPENAI_RECORD_CASSETTES_DIR set, the batches' requests and answers are recorded as cassettes
the mock can replay (cassette_recorder).
"""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import orjson
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from openai.types import Batch, FileObject

from core.mock_openai.engine.atomic_files import atomic_writer

from .cassette_recorder import CassetteRecorder
from .openai_limits import MAX_FILE_BYTES, MAX_REQUESTS_PER_BATCH, embedding_inputs, estimate_request_tokens

logger = logging.getLogger(__name__)

NOT_INITIALIZED = "OpenAI client not initialized: set OPENAI_API_KEY or USE_MOCK_BATCH=true"
STREAM_CHUNK_BYTES = 1 << 20
_announced: set[str] = set()


class BatchLimitExceeded(ValueError):
    """A batch file would break one of OpenAI's limits (requests or bytes); split the requests."""


@dataclass(frozen=True)
class BatchFileStats:
    path: Path
    requests: int
    bytes: int
    embedding_inputs: int
    est_tokens: int | None  # None: not counted (the caller's plan did)


def mock_backend_selected(use_mock: bool | None = None) -> bool:
    """The switch: explicit argument, else USE_MOCK_BATCH, else "mock unless an API key is set"."""
    if use_mock is not None:
        return use_mock
    if settings.USE_MOCK_BATCH is not None:
        return bool(settings.USE_MOCK_BATCH)
    return not settings.OPENAI_API_KEY


def _announce(backend: str, detail: str) -> None:
    """Log the active backend once per process and backend (never the key)."""
    if backend not in _announced:
        _announced.add(backend)
        logger.info("Batch API backend: %s (%s)", backend, detail)


def describe_backend(use_mock: bool | None = None) -> str:
    """A one-line description of the backend the switch selects, for logs and `manage.py batch_backend`."""
    if mock_backend_selected(use_mock):
        return f"mock (files under {settings.MOCK_BATCH_DIR})"
    if not settings.OPENAI_API_KEY:
        return f"openai: not usable, {NOT_INITIALIZED}"
    return f"openai ({settings.OPENAI_BASE_URL or 'https://api.openai.com/v1'})"


def _mock_client_class():
    """`MockOpenAIClient`, imported on first use, so that a process on OpenAI never loads the mock."""
    from core.mock_openai.client import MockOpenAIClient

    return MockOpenAIClient


class BatchService:
    """Write, upload, create, poll, list, cancel and read batches on the selected backend."""

    def for_backend(self, backend: str) -> "BatchService":
        """This service if it is on ``backend``, else a service on that backend.

        A batch made on the mock stays on the mock after an API key is configured (and the reverse):
        its status and files are always asked of the provider that has them.
        """
        return self if backend == self.backend else self.on_backend(backend)

    @classmethod
    def on_backend(cls, backend: str) -> "BatchService":
        return cls(use_mock=backend == "mock")

    def __init__(self, use_mock: bool | None = None, client=None):
        if client is not None:
            self.client = client
            self.backend = "mock" if isinstance(client, _mock_client_class()) else "openai"
        elif mock_backend_selected(use_mock):
            self.client = _mock_client_class()()
            self.backend = "mock"
        else:
            if not settings.OPENAI_API_KEY:
                raise ImproperlyConfigured(NOT_INITIALIZED)
            self.client = openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None)
            self.backend = "openai"
        record_to = getattr(settings, "OPENAI_RECORD_CASSETTES_DIR", None)
        self.recorder = CassetteRecorder(record_to) if record_to and self.backend == "openai" else None
        _announce(self.backend, describe_backend(self.backend == "mock"))

    # --- input files ------------------------------------------------------------------------------
    @staticmethod
    def write_batch_file(requests: Iterable[dict], path: Path, count_tokens: bool = True) -> BatchFileStats:
        """Stream requests to a JSONL file (atomically: a failure leaves no partial file at `path`).

        Raises BatchLimitExceeded past 50,000 requests or 200 MB, the limits OpenAI validates. A caller that
        counted the requests' tokens already (the pipeline's batch plan) passes ``count_tokens=False``:
        counting is most of the cost of writing a 30,000-request chat batch, and ``est_tokens`` is then None.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        count = size = inputs = tokens = 0
        with atomic_writer(path) as handle:
            for request in requests:
                line = orjson.dumps(request) + b"\n"
                count += 1
                size += len(line)
                if count > MAX_REQUESTS_PER_BATCH or size > MAX_FILE_BYTES:
                    raise BatchLimitExceeded(
                        f"A batch file holds at most {MAX_REQUESTS_PER_BATCH} requests and {MAX_FILE_BYTES} bytes"
                    )
                body = request.get("body") or {}
                if request.get("url") == "/v1/embeddings":
                    inputs += len(embedding_inputs(body))
                if count_tokens:
                    tokens += estimate_request_tokens(request.get("url", ""), body)
                handle.write(line)
        counted = tokens if count_tokens else None
        return BatchFileStats(path=path, requests=count, bytes=size, embedding_inputs=inputs, est_tokens=counted)

    def upload_file(self, path: Path) -> FileObject:
        with Path(path).open("rb") as handle:
            uploaded = self.client.files.create(file=handle, purpose="batch")
        if self.recorder is not None:
            self.recorder.note_upload(uploaded.id, path)
        return uploaded

    # --- batches ----------------------------------------------------------------------------------
    def create_batch(
        self, input_file_id: str, endpoint: str, metadata: dict | None = None, completion_window: str = "24h"
    ) -> Batch:
        return self.client.batches.create(
            input_file_id=input_file_id,
            endpoint=endpoint,
            completion_window=completion_window,
            metadata=metadata if metadata is not None else openai.omit,
        )

    def retrieve_batch(self, batch_id: str) -> Batch:
        batch = self.client.batches.retrieve(batch_id)
        if self.recorder is not None:
            self.recorder.note_batch(batch)
        return batch

    def list_batches(self, limit: int = 20, after: str | None = None):
        """A `SyncCursorPage[Batch]`: `.data` is this page; iterating it walks every following page too."""
        return self.client.batches.list(limit=limit, after=after if after is not None else openai.omit)

    def cancel_batch(self, batch_id: str) -> Batch:
        return self.client.batches.cancel(batch_id)

    def list_batch_files(self):
        """Every uploaded batch input file, newest first (iterating walks every page)."""
        return self.client.files.list(purpose="batch", order="desc")

    def delete_file(self, file_id: str) -> None:
        self.client.files.delete(file_id)

    # --- output and error files -------------------------------------------------------------------
    def file_content(self, file_id: str) -> Iterator[bytes]:
        """The file's bytes in chunks, streamed from the backend (for downloads in the admin)."""
        with self.client.files.with_streaming_response.content(file_id) as response:
            yield from response.iter_bytes(STREAM_CHUNK_BYTES)

    def iter_file_lines(self, file_id: str) -> Iterator[dict]:
        """The parsed JSONL lines of an output or error file, one at a time."""
        lines = self._raw_lines(file_id)
        if self.recorder is not None:
            lines = self.recorder.recording(file_id, lines)
        for line in lines:
            yield orjson.loads(line)

    def _raw_lines(self, file_id: str) -> Iterator[bytes]:
        pending = b""
        for chunk in self.file_content(file_id):
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.strip():
                    yield line
        if pending.strip():
            yield pending
