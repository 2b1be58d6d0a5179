"""Streaming a batch's input, output or error file to a staff user.

The file is named by the BatchJob, never by the request: the URL carries the batch's id and one of
three words, and the file id is read from the batch's own columns. The bytes come from the batch's
backend (``BatchService.file_content``) in chunks, so a 200 MB output file never sits in memory.
"""

from __future__ import annotations

import logging
import re

import openai
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpResponse, StreamingHttpResponse

from core.batches.events import log_batch_event
from core.models import BatchJob
from core.services.batch_service import BatchService

# The files a batch references, by the word used in URLs.
FILE_FIELDS = {"input": "input_file_id", "output": "output_file_id", "error": "error_file_id"}


def file_id_of(batch: BatchJob, which: str) -> str:
    field = FILE_FIELDS.get(which)
    if field is None:
        raise Http404(f"a batch has no {which!r} file")
    file_id = getattr(batch, field)
    if not file_id:
        raise Http404(f"batch {batch.provider_batch_id} has no {which} file")
    return file_id


def download_filename(batch: BatchJob, which: str) -> str:
    safe_id = re.sub(r"[^A-Za-z0-9_.-]", "_", batch.provider_batch_id) or f"batch-{batch.pk}"
    return f"{safe_id}_{which}.jsonl"


def _closing(first: bytes, chunks):
    """Yield the chunk already read, then the rest; closing the response closes the provider stream."""
    try:
        yield first
        yield from chunks
    finally:
        chunks.close()


def stream_batch_file(batch: BatchJob, which: str) -> HttpResponse:
    """The response for one of the batch's files: streamed, or an error page if it cannot be read.

    The first chunk is read before the response starts, so a file the provider no longer has becomes
    a 404 (and an unreachable provider a 502) instead of a truncated 200.
    """
    file_id = file_id_of(batch, which)
    try:
        chunks = BatchService.on_backend(batch.backend).file_content(file_id)
        first = next(chunks, b"")
    except openai.NotFoundError:
        raise Http404(f"the provider no longer has file {file_id}") from None
    except ImproperlyConfigured as exc:
        return HttpResponse(f"Cannot read the file: {exc}", status=503, content_type="text/plain")
    except openai.APIError as exc:
        log_batch_event("download_failed", batch, logging.WARNING, file=which, error=type(exc).__name__)
        return HttpResponse(
            f"The provider did not return the file: {type(exc).__name__}", status=502, content_type="text/plain"
        )
    response = StreamingHttpResponse(_closing(first, chunks), content_type="application/jsonl")
    response["Content-Disposition"] = f'attachment; filename="{download_filename(batch, which)}"'
    response["Cache-Control"] = "private, no-store"
    return response
