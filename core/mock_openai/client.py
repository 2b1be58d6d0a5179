"""`MockOpenAIClient`: the mock engine behind the same interface and types as `openai.OpenAI()`.

`client.files` and `client.batches` take the arguments of the SDK's resources and answer the SDK's own
types (`openai.types.Batch`, `FileObject`, `FileDeleted`, `SyncCursorPage` pages that paginate when
iterated, `HttpxBinaryResponseContent` for `files.content()`, a `StreamedBinaryAPIResponse` from
`files.with_streaming_response.content()`), and raise the SDK's exceptions (`openai.BadRequestError`,
`openai.NotFoundError`, ...), so code written against one runs unchanged against the other.
Defaults come from the MOCK_BATCH_* settings; explicit arguments need no Django settings at all.

The only module of the mock that reaches into the SDK's private modules (`openai._models`,
`openai._response`, `openai._legacy_response`): pyproject.toml bounds `openai` to the major they match.
"""

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import openai
from openai._legacy_response import HttpxBinaryResponseContent
from openai._models import FinalRequestOptions
from openai._response import StreamedBinaryAPIResponse
from openai.pagination import SyncCursorPage
from openai.types import Batch, FileDeleted, FileObject

from .config import engine_from_settings
from .engine.errors import MockAPIError
from .engine.facade import MockBatchEngine
from .engine.files import FileOperations

UPLOAD_CHUNK_BYTES = 1 << 20
MOCK_API_BASE = "https://mock-openai.invalid/v1"  # the URL the in-process answers claim; never contacted
_REQUEST_OPTIONS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
_SDK_ERRORS = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def _sdk_error(error: MockAPIError, method: str, path: str) -> openai.APIStatusError:
    """The exception `openai.OpenAI` raises when the HTTP API answers this error."""
    request = httpx2.Request(method, f"{MOCK_API_BASE}{path}")
    response = httpx2.Response(error.status, json=error.body(), request=request)
    error_class = _SDK_ERRORS.get(error.status)
    if error_class is None:
        error_class = openai.InternalServerError if error.status >= 500 else openai.APIStatusError
    return error_class(f"Error code: {error.status} - {error.message}", response=response, body=error.body()["error"])


@contextmanager
def _as_sdk_errors(method: str, path: str):
    try:
        yield
    except MockAPIError as error:
        raise _sdk_error(error, method, path) from None


def _given(value):
    """None for the SDK's "not given" sentinels (`openai.omit`, `openai.NOT_GIVEN`), else the value."""
    return None if isinstance(value, openai.Omit | openai.NotGiven) else value


def _given_params(**values) -> dict:
    return {key: value for key, value in values.items() if _given(value) is not None}


def _check_options(options: dict) -> None:
    """Accept the SDK's per-request options (which mean nothing here) and nothing else."""
    unknown = set(options) - _REQUEST_OPTIONS
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")


def _upload_parts(file) -> tuple[str, Iterator[bytes]]:
    """(filename, chunks) for whatever `files.create(file=...)` accepts: bytes, a file object, a path, or a
    (filename, content[, content_type]) tuple; named as httpx would name it in the multipart upload."""
    if isinstance(file, tuple):
        name, content = file[0], file[1]
        return name or "upload", _upload_parts(content)[1]
    if isinstance(file, os.PathLike):
        path = Path(file)
        return path.name, _read_chunks(path.open("rb"), close=True)
    if isinstance(file, bytes | bytearray):
        return "upload", _read_chunks(io.BytesIO(file), close=True)
    if hasattr(file, "read"):
        return Path(str(getattr(file, "name", "upload"))).name, _read_chunks(file, close=False)
    raise TypeError(f"Expected bytes, a file object, a path or a tuple for `file`, got {type(file).__name__}")


def _read_chunks(handle, *, close: bool) -> Iterator[bytes]:
    try:
        while chunk := handle.read(UPLOAD_CHUNK_BYTES):
            yield chunk.encode() if isinstance(chunk, str) else chunk
    finally:
        if close:
            handle.close()


class _ContentStream(httpx2.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class _Pager:
    """What a `SyncCursorPage` calls for its next page: here, the engine instead of an HTTP client."""

    def __init__(self, fetch: Callable[[dict], SyncCursorPage]):
        self._fetch = fetch

    def _request_api_list(self, model, page, options: FinalRequestOptions) -> SyncCursorPage:
        return self._fetch(dict(options.params))


def _page(answer: dict, model, pager: _Pager, path: str, params: dict) -> SyncCursorPage:
    page = SyncCursorPage[model](**{**answer, "data": [model.model_validate(item) for item in answer["data"]]})
    options = FinalRequestOptions.construct(method="get", url=path, params=params)
    page._set_private_attributes(client=pager, model=model, options=options)
    return page


class MockFiles:
    """`client.files` of the mock: create, retrieve, list, delete, content."""

    def __init__(self, engine: MockBatchEngine):
        self._files = engine.files
        self.with_streaming_response = _StreamingFiles(engine)

    def create(self, *, file, purpose, expires_after=openai.omit, **options) -> FileObject:
        _check_options(options)
        filename, chunks = _upload_parts(file)
        with _as_sdk_errors("POST", "/files"):
            answer = self._files.create(chunks, filename=filename, purpose=purpose, expires_after=_given(expires_after))
        return FileObject.model_validate(answer)

    def retrieve(self, file_id: str, **options) -> FileObject:
        _check_options(options)
        with _as_sdk_errors("GET", f"/files/{file_id}"):
            return FileObject.model_validate(self._files.retrieve(file_id))

    def delete(self, file_id: str, **options) -> FileDeleted:
        _check_options(options)
        with _as_sdk_errors("DELETE", f"/files/{file_id}"):
            return FileDeleted.model_validate(self._files.delete(file_id))

    def list(
        self, *, after=openai.omit, limit=openai.omit, order=openai.omit, purpose=openai.omit, **options
    ) -> SyncCursorPage[FileObject]:
        _check_options(options)
        return self._list(_given_params(after=after, limit=limit, order=order, purpose=purpose))

    def _list(self, params: dict) -> SyncCursorPage[FileObject]:
        with _as_sdk_errors("GET", "/files"):
            answer = self._files.list(
                purpose=params.get("purpose"),
                limit=params.get("limit", 10_000),
                order=params.get("order", "desc"),
                after=params.get("after"),
            )
        return _page(answer, FileObject, _Pager(self._list), "/files", params)

    def content(self, file_id: str, **options) -> HttpxBinaryResponseContent:
        """The whole file, read into memory as the SDK does; use `with_streaming_response` to stream."""
        _check_options(options)
        response = _content_response(self._files, file_id)
        response.read()
        return HttpxBinaryResponseContent(response)


def _content_response(files: FileOperations, file_id: str) -> httpx2.Response:
    path = f"/files/{file_id}/content"
    with _as_sdk_errors("GET", path):
        size = files.retrieve(file_id)["bytes"]
        chunks = files.content(file_id)
    return httpx2.Response(
        200,
        headers={"content-type": "application/octet-stream", "content-length": str(size)},
        stream=_ContentStream(chunks),
        request=httpx2.Request("GET", f"{MOCK_API_BASE}{path}"),
    )


class _StreamingFiles:
    """`client.files.with_streaming_response`: `content()` as a context manager that streams the file."""

    def __init__(self, engine: MockBatchEngine):
        self._files = engine.files

    @contextmanager
    def content(self, file_id: str, **options) -> Iterator[StreamedBinaryAPIResponse]:
        _check_options(options)
        response = _content_response(self._files, file_id)
        options = FinalRequestOptions.construct(method="get", url=f"/files/{file_id}/content")
        streamed = StreamedBinaryAPIResponse(
            raw=response, cast_to=bytes, client=None, stream=False, stream_cls=None, options=options
        )
        try:
            yield streamed
        finally:
            response.close()


class MockBatches:
    """`client.batches` of the mock: create, retrieve, list, cancel."""

    def __init__(self, engine: MockBatchEngine):
        self._batches = engine.batches

    def create(
        self,
        *,
        completion_window,
        endpoint,
        input_file_id,
        metadata=openai.omit,
        output_expires_after=openai.omit,
        **options,
    ) -> Batch:
        _check_options(options)
        with _as_sdk_errors("POST", "/batches"):
            answer = self._batches.create(
                input_file_id=input_file_id,
                endpoint=endpoint,
                completion_window=completion_window,
                metadata=_given(metadata),
                output_expires_after=_given(output_expires_after),
            )
        return Batch.model_validate(answer)

    def retrieve(self, batch_id: str, **options) -> Batch:
        _check_options(options)
        with _as_sdk_errors("GET", f"/batches/{batch_id}"):
            return Batch.model_validate(self._batches.retrieve(batch_id))

    def cancel(self, batch_id: str, **options) -> Batch:
        _check_options(options)
        with _as_sdk_errors("POST", f"/batches/{batch_id}/cancel"):
            return Batch.model_validate(self._batches.cancel(batch_id))

    def list(self, *, after=openai.omit, limit=openai.omit, **options) -> SyncCursorPage[Batch]:
        _check_options(options)
        return self._list(_given_params(after=after, limit=limit))

    def _list(self, params: dict) -> SyncCursorPage[Batch]:
        with _as_sdk_errors("GET", "/batches"):
            answer = self._batches.list(after=params.get("after"), limit=params.get("limit", 20))
        return _page(answer, Batch, _Pager(self._list), "/batches", params)


class MockTestControls:
    """`client.mock`: the test's controls of the root (engine.controls), with the SDK's exceptions; the
    same operations as `/v1/mock/...` over HTTP."""

    def __init__(self, engine: MockBatchEngine):
        self._controls = engine.controls

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        operation = getattr(self._controls, name)

        def call(*args, **kwargs) -> dict:
            with _as_sdk_errors("POST", f"/mock/{name}"):
                return operation(*args, **kwargs)

        return call


class MockOpenAIClient:
    """A stand-in for `openai.OpenAI()` limited to `files` and `batches`, backed by `MockBatchEngine`, plus
    `mock`, the test's controls (scripted outcomes, test clock).

    Takes the arguments of `engine_from_settings`: each one given overrides its MOCK_BATCH_* setting.
    """

    def __init__(self, root=None, failure_rate=None, seed=None, latency=None, **options):
        self.engine = engine_from_settings(root, failure_rate, seed, latency, **options)
        self.files = MockFiles(self.engine)
        self.batches = MockBatches(self.engine)
        self.mock = MockTestControls(self.engine)

    @property
    def root(self) -> Path:
        return self.engine.storage.root
