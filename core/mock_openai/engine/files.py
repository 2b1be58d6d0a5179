"""The Files API operations of the mock: create (upload), retrieve, delete, content, list."""

from collections.abc import Iterable, Iterator

from core.services.openai_limits import BATCH_INPUT_EXPIRY_SECONDS, FILE_PURPOSES, MAX_UPLOAD_BYTES

from .errors import bad_request
from .listing import check_limit, paginate
from .parameter_checks import check_expires_after
from .storage import FileStore

LIST_LIMITS = (1, 10_000)


class FileOperations:
    """What `/v1/files` answers, as OpenAI's JSON objects (plain dicts)."""

    def __init__(self, store: FileStore, max_stored_bytes: int | None = None):
        self._store = store
        self._max_stored_bytes = max_stored_bytes

    def create(self, chunks: Iterable[bytes], *, filename: str, purpose: object, expires_after=None) -> dict:
        if purpose not in FILE_PURPOSES:
            raise bad_request(
                f"Invalid value for 'purpose': expected one of {', '.join(FILE_PURPOSES)}.", "purpose", "invalid_value"
            )
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise bad_request("Invalid file format for Batch API. Must be .jsonl", "file", "invalid_file_format")
        expires_in = BATCH_INPUT_EXPIRY_SECONDS if purpose == "batch" else None
        if expires_after is not None:
            expires_in = check_expires_after(expires_after, "expires_after")
        return self._store.save_upload(
            chunks,
            filename=filename,
            purpose=purpose,
            max_bytes=MAX_UPLOAD_BYTES,
            expires_in=expires_in,
            max_stored_bytes=self._max_stored_bytes,
        )

    def retrieve(self, file_id: str) -> dict:
        return self._store.record(file_id)["file"]

    def delete(self, file_id: str) -> dict:
        self._store.delete(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    def content(self, file_id: str) -> Iterator[bytes]:
        return self._store.iter_content(file_id)

    def list(self, *, purpose: str | None = None, limit: int = 10_000, order: str = "desc", after=None) -> dict:
        limit = check_limit(limit, LIST_LIMITS)
        if order not in ("asc", "desc"):
            raise bad_request("Invalid value for 'order': expected 'asc' or 'desc'.", "order", "invalid_value")
        records = [r for r in self._store.iter_records() if purpose is None or r["file"]["purpose"] == purpose]
        records.sort(key=lambda r: (r["order"], r["file"]["id"]), reverse=order == "desc")
        return paginate(records, "file", after, limit)
