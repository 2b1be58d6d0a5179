"""On-disk storage of the mock Files + Batch API, safe for several processes sharing one root.

Layout under the root (the seed's): `input_files/` (uploads), `output_files/` (batch output and error
files), `batch_metadata/` (one JSON record per batch, plus its lock file). A file is its record
`<file-id>.json` plus one or more data segments; the record is written last, so a file exists exactly
when its record does. Every write goes to a temporary file in the same directory that is fsynced and
renamed over the target, so a crash leaves at most a `.tmp-*` file, which is never listed nor served.
Ids that arrive from outside are matched against strict patterns before they become file names.
"""

import fcntl
import os
import re
import secrets
import string
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import orjson

from .mock_errors import bad_request, not_found

TEMP_PREFIX = ".tmp-"
FILE_ID_RE = re.compile(r"file-[A-Za-z0-9]{24}")
BATCH_ID_RE = re.compile(r"batch_[0-9a-f]{32}")
_ALPHANUMERIC = string.ascii_letters + string.digits
COPY_CHUNK_BYTES = 1 << 20


def new_file_id() -> str:
    return "file-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))


def new_batch_id(now: float) -> str:
    """Like OpenAI's: the creation time in hex, then random hex."""
    return f"batch_{int(now) & 0xFFFFFFFF:08x}{secrets.token_hex(12)}"


def is_file_id(value: object) -> bool:
    return isinstance(value, str) and FILE_ID_RE.fullmatch(value) is not None


def is_batch_id(value: object) -> bool:
    return isinstance(value, str) and BATCH_ID_RE.fullmatch(value) is not None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_writer(path: Path):
    """Yield a binary file that replaces `path` only if the block completes (temp file, fsync, rename)."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def write_json_atomically(path: Path, value: dict) -> None:
    with atomic_writer(path) as handle:
        handle.write(orjson.dumps(value))


def read_json(path: Path) -> dict | None:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None


class MockStorage:
    """Records and data of files and batches under one root directory."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.time):
        self.root = Path(root)
        self.clock = clock
        self.input_dir = self.root / "input_files"
        self.output_dir = self.root / "output_files"
        self.batch_dir = self.root / "batch_metadata"
        for directory in (self.input_dir, self.output_dir, self.batch_dir):
            directory.mkdir(parents=True, exist_ok=True)

    # --- files ------------------------------------------------------------------------------------
    def _file_record_path(self, file_id: str) -> Path | None:
        if not is_file_id(file_id):
            return None
        for directory in (self.input_dir, self.output_dir):
            path = directory / f"{file_id}.json"
            if path.exists():
                return path
        return None

    def file_record(self, file_id: str) -> dict:
        """The stored record `{"file": <OpenAI file object>, "parts": [...], "order": ns}`; 404 if unknown."""
        path = self._file_record_path(file_id)
        record = read_json(path) if path else None
        if record is None:
            raise not_found(f"No such File object: {file_id}", param="id")
        return record

    def data_paths(self, record: dict) -> list[Path]:
        directory = self.output_dir if record["file"]["purpose"] == "batch_output" else self.input_dir
        return [directory / name for name in record["parts"]]

    def new_file_object(self, file_id: str, *, filename: str, purpose: str, size: int, expires_at=None) -> dict:
        return {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": int(self.clock()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": expires_at,
            "status_details": None,
        }

    def save_upload(
        self, chunks: Iterable[bytes], *, filename: str, purpose: str, max_bytes: int, expires_in: int | None
    ) -> dict:
        """Stream an upload into `input_files/`; refuse it (400) once it passes `max_bytes`."""
        file_id = new_file_id()
        data_name = f"{file_id}.jsonl"
        size = 0
        with atomic_writer(self.input_dir / data_name) as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise bad_request(f"File is too large: the limit is {max_bytes} bytes.", param="file")
                handle.write(chunk)
        expires_at = int(self.clock()) + expires_in if expires_in else None
        file_object = self.new_file_object(
            file_id, filename=filename, purpose=purpose, size=size, expires_at=expires_at
        )
        self.publish_file(file_object, [data_name])
        return file_object

    def publish_file(self, file_object: dict, parts: list[str]) -> None:
        """Make a file visible by writing its record, after all its data segments are in place."""
        directory = self.output_dir if file_object["purpose"] == "batch_output" else self.input_dir
        record = {"file": file_object, "parts": parts, "order": time.time_ns()}
        write_json_atomically(directory / f"{file_object['id']}.json", record)

    def iter_file_records(self) -> Iterator[dict]:
        for directory in (self.input_dir, self.output_dir):
            for path in directory.glob("file-*.json"):
                record = read_json(path)  # None when deleted since the glob
                if record is not None:
                    yield record

    def delete_file(self, file_id: str) -> None:
        record = self.file_record(file_id)
        record_path = self._file_record_path(file_id)
        data = self.data_paths(record)
        with suppress(FileNotFoundError):
            record_path.unlink()  # the file stops existing here; the data go after
        for path in data:
            with suppress(FileNotFoundError):
                path.unlink()

    def iter_content(self, file_id: str, chunk_size: int = COPY_CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes of a file, segment after segment, never more than `chunk_size` in memory."""
        paths = self.data_paths(self.file_record(file_id))
        handles = [path.open("rb") for path in paths]  # opened now: a delete while streaming can't cut it
        return self._stream(handles, chunk_size)

    @staticmethod
    def _stream(handles, chunk_size: int) -> Iterator[bytes]:
        try:
            for handle in handles:
                while chunk := handle.read(chunk_size):
                    yield chunk
        finally:
            for handle in handles:
                handle.close()

    # --- batches ----------------------------------------------------------------------------------
    def batch_record_path(self, batch_id: str) -> Path | None:
        return self.batch_dir / f"{batch_id}.json" if is_batch_id(batch_id) else None

    def batch_record(self, batch_id: str) -> dict:
        """The stored record `{"batch": <OpenAI batch object>, "run": {...engine state}, "order": ns}`."""
        path = self.batch_record_path(batch_id)
        record = read_json(path) if path else None
        if record is None:
            raise not_found(f"No batch found with id '{batch_id}'.")
        return record

    def save_batch(self, record: dict) -> None:
        write_json_atomically(self.batch_dir / f"{record['batch']['id']}.json", record)

    def iter_batch_records(self) -> Iterator[dict]:
        for path in self.batch_dir.glob("batch_*.json"):
            record = read_json(path)
            if record is not None:
                yield record

    @contextmanager
    def batch_lock(self, batch_id: str):
        """An exclusive lock on one batch, across threads and processes (flock on a lock file)."""
        self.batch_record(batch_id)  # 404 before creating a lock file for an unknown id
        fd = os.open(self.batch_dir / f"{batch_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def output_part_path(self, file_id: str, part: int) -> Path:
        """Where segment `part` of an output or error file is written before the file is published."""
        return self.output_dir / f"{file_id}.{part}.jsonl"

    # --- housekeeping (`manage.py mock_batches clean`) --------------------------------------------
    def delete_batch(self, batch_id: str) -> None:
        """Remove a batch's record, then its lock file; the caller holds the batch's lock.

        The record goes first, so the batch stops existing before anything else is touched; a process
        waiting on the lock then finds no record and answers 404, as for any unknown batch.
        """
        record_path = self.batch_record_path(batch_id)
        if record_path is None:
            raise not_found(f"No batch found with id '{batch_id}'.")
        record_path.unlink()
        with suppress(FileNotFoundError):  # a batch never locked has no lock file
            (self.batch_dir / f"{batch_id}.lock").unlink()

    def stray_paths(self) -> Iterator[Path]:
        """Paths nothing refers to: `.tmp-*` left by a crash mid-write, data segments of no file record,
        and lock files of batches that no longer exist. Only ever removed once old (see MockBatchEngine.clean):
        a young one may be a write in progress."""
        parts = set()
        for record in self.iter_file_records():
            parts.update(record["parts"])
        for directory in (self.input_dir, self.output_dir):
            for path in directory.iterdir():
                is_record = path.suffix == ".json" and is_file_id(path.stem)
                if not is_record and path.name not in parts:
                    yield path
        for path in self.batch_dir.iterdir():
            orphan_lock = path.suffix == ".lock" and not (self.batch_dir / f"{path.stem}.json").exists()
            if orphan_lock or path.name.startswith(TEMP_PREFIX):
                yield path
