"""The mock Files + Batch API over HTTP, answering the JSON OpenAI's API answers.

A development tool, and guarded like one. It answers only when `MOCK_OPENAI_API` is true and
`MOCK_OPENAI_API_KEY` is set (otherwise every request gets a 403 saying so), and only requests bearing that
key (compared in constant time; 401 otherwise); no token is ever logged or stored. It runs the same engine
as the in-process `MockOpenAIClient` (MOCK_BATCH_* knobs) on a root of its own, `MOCK_OPENAI_HTTP_DIR`:
never the pipeline's `MOCK_BATCH_DIR`, whose files hold CV text. Uploads are capped per file (OpenAI's
512 MB) and in total (`MOCK_OPENAI_MAX_STORED_BYTES`), with OpenAI's 400. Every answer that is not a 2xx
has OpenAI's error shape. Ids from the URL reach the storage only after matching the strict id patterns
there, so `../`, absolute paths, NUL bytes and their encodings answer 404 without touching the disk.
Uploads are streamed to a temporary file (never held in memory) and downloads are streamed from the data
segments.
"""

import hmac

import orjson
from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from core.mock_openai.config import http_engine_from_settings
from core.mock_openai.engine.errors import MockAPIError, bad_request
from core.mock_openai.engine.facade import MockBatchEngine
from core.services.openai_limits import MAX_UPLOAD_BYTES

MULTIPART_OVERHEAD_BYTES = 1 << 20
NO_API_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer "
    "auth (i.e. Authorization: Bearer YOUR_KEY)."
)
INVALID_API_KEY = (
    "Incorrect API key provided. This mock OpenAI API accepts only its own key, the one set in "
    "MOCK_OPENAI_API_KEY on the server."
)
MOCK_API_OFF = (
    "The mock OpenAI API is off. It is a development tool and answers only when the server sets both "
    "MOCK_OPENAI_API=true and MOCK_OPENAI_API_KEY (then send that key as Authorization: Bearer <key>)."
)
INVALID_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)


def _json(value: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(value), status=status, content_type="application/json")


def _error(error: MockAPIError) -> HttpResponse:
    return _json(error.body(), error.status)


def _bearer_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _refusal(request) -> HttpResponse | None:
    """The answer to a request the mock must not serve: off (403), no token or not its key (401)."""
    key = settings.MOCK_OPENAI_API_KEY if settings.MOCK_OPENAI_API else ""
    if not key:
        return _error(MockAPIError(403, MOCK_API_OFF, code="mock_api_disabled"))
    token = _bearer_token(request)
    if not token:
        return _error(MockAPIError(401, NO_API_KEY))
    if not hmac.compare_digest(token.encode(), key.encode()):
        return _error(MockAPIError(401, INVALID_API_KEY, code="invalid_api_key"))
    return None


def _invalid_url(request) -> MockAPIError:
    return MockAPIError(404, f"Invalid URL ({request.method} {request.path_info})")


def openai_endpoint(**handlers):
    """A view answering the given HTTP methods, with OpenAI's authentication and error answers."""

    @csrf_exempt
    def view(request, **kwargs):
        refusal = _refusal(request)
        if refusal is not None:
            return refusal
        handler = handlers.get(request.method.lower())
        if handler is None:
            return _error(_invalid_url(request))
        try:
            engine = http_engine_from_settings()
        except ValueError as error:  # its root is the pipeline's: refuse rather than serve CV text
            return _error(MockAPIError(403, str(error), code="mock_api_disabled"))
        try:
            return handler(request, engine, **kwargs)
        except MockAPIError as error:
            return _error(error)

    return view


def _query_int(request, name: str, default: int) -> int:
    value = request.GET.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"Invalid '{name}': expected an integer.", name, "invalid_type") from None


def _json_body(request) -> dict:
    try:
        body = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        raise bad_request(INVALID_JSON) from None
    if not isinstance(body, dict):
        raise bad_request(INVALID_JSON)
    return body


# --- files ----------------------------------------------------------------------------------------
def _create_file(request, engine: MockBatchEngine) -> HttpResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES:
        raise bad_request(f"File is too large: the limit is {MAX_UPLOAD_BYTES} bytes.", "file")
    request.upload_handlers = [TemporaryFileUploadHandler(request)]  # stream to disk, whatever the size
    upload = request.FILES.get("file")
    if upload is None:
        raise bad_request("Missing required parameter: 'file'.", "file", "missing_required_parameter")
    purpose = request.POST.get("purpose")
    if purpose is None:
        raise bad_request("Missing required parameter: 'purpose'.", "purpose", "missing_required_parameter")
    expires_after = None
    if "expires_after[anchor]" in request.POST or "expires_after[seconds]" in request.POST:
        seconds = request.POST.get("expires_after[seconds]", "")
        expires_after = {
            "anchor": request.POST.get("expires_after[anchor]"),
            "seconds": int(seconds) if seconds.isdigit() else seconds,
        }
    try:
        answer = engine.files.create(
            upload.chunks(), filename=upload.name or "upload", purpose=purpose, expires_after=expires_after
        )
    finally:
        upload.close()  # removes the temporary file
    return _json(answer)


def _list_files(request, engine: MockBatchEngine) -> HttpResponse:
    return _json(
        engine.files.list(
            purpose=request.GET.get("purpose"),
            limit=_query_int(request, "limit", 10_000),
            order=request.GET.get("order", "desc"),
            after=request.GET.get("after"),
        )
    )


def _file_content(request, engine: MockBatchEngine, file_id: str) -> StreamingHttpResponse:
    file_object = engine.files.retrieve(file_id)
    response = StreamingHttpResponse(engine.files.content(file_id), content_type="application/octet-stream")
    response["Content-Length"] = str(file_object["bytes"])
    return response


files = openai_endpoint(get=_list_files, post=_create_file)
file_detail = openai_endpoint(
    get=lambda request, engine, file_id: _json(engine.files.retrieve(file_id)),
    delete=lambda request, engine, file_id: _json(engine.files.delete(file_id)),
)
file_content = openai_endpoint(get=_file_content)


# --- batches --------------------------------------------------------------------------------------
def _create_batch(request, engine: MockBatchEngine) -> HttpResponse:
    body = _json_body(request)
    for name in ("input_file_id", "endpoint", "completion_window"):
        if name not in body:
            raise bad_request(f"Missing required parameter: '{name}'.", name, "missing_required_parameter")
    answer = engine.batches.create(
        input_file_id=body["input_file_id"],
        endpoint=body["endpoint"],
        completion_window=body["completion_window"],
        metadata=body.get("metadata"),
        output_expires_after=body.get("output_expires_after"),
    )
    return _json(answer)


def _list_batches(request, engine: MockBatchEngine) -> HttpResponse:
    return _json(engine.batches.list(after=request.GET.get("after"), limit=_query_int(request, "limit", 20)))


batches = openai_endpoint(get=_list_batches, post=_create_batch)
batch_detail = openai_endpoint(get=lambda request, engine, batch_id: _json(engine.batches.retrieve(batch_id)))
batch_cancel = openai_endpoint(post=lambda request, engine, batch_id: _json(engine.batches.cancel(batch_id)))


@csrf_exempt
def not_found(request, unmatched: str = "") -> HttpResponse:
    """Any other URL under the mock API: OpenAI's 404 "Invalid URL" (after the same auth check)."""
    return _refusal(request) or _error(_invalid_url(request))
