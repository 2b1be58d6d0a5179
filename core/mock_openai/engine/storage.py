"""On-disk storage of the mock Files + Batch API, safe for several processes sharing one root.

Layout under the root (the seed's): `input_files/` (uploads), `output_files/` (batch output and error
files), `batch_metadata/` (one JSON record per batch, its lock file, and while it runs its own name for
its input, `<batch-id>.input.jsonl`). A file is its record `<file-id>.json` plus one or more data
segments; the record is written last, so a file exists exactly when its record does. Every write is
atomic (see atomic_files), so a crash leaves at most a `.tmp-*` file (or a run's `.tmp-run-*`
directory), which is never listed nor served. Ids that arrive from outside are matched against strict
patterns before they become file names.
"""

import os
import re
import secrets
import string
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .atomic_files import (
    COPY_CHUNK_BYTES,
    TEMP_PREFIX,
    atomic_writer,
    link_or_copy,
    read_json,
    write_json_atomically,
)
from .errors import MockAPIError, bad_request, not_found
from .file_locks import exclusive_lock

FILE_ID_RE = re.compile(r"file-[A-Za-z0-9]{24}")
BATCH_ID_RE = re.compile(r"batch_[0-9a-f]{32}")
_ALPHANUMERIC = string.ascii_letters + string.digits
RUN_DIR_PREFIX = TEMP_PREFIX + "run-"
BATCH_INPUT_SUFFIX = ".input.jsonl"


def new_file_id() -> str:
    return "file-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))


def new_batch_id(now: float) -> str:
    """Like OpenAI's: the creation time in hex, then random hex."""
    return f"batch_{int(now) & 0xFFFFFFFF:08x}{secrets.token_hex(12)}"


def is_file_id(value: object) -> bool:
    return isinstance(value, str) and FILE_ID_RE.fullmatch(value) is not None


def is_batch_id(value: object) -> bool:
    return isinstance(value, str) and BATCH_ID_RE.fullmatch(value) is not None


def file_not_found(file_id: str) -> MockAPIError:
    return not_found(f"No such File object: {file_id}", param="id")


def storage_limit_reached(limit: int) -> MockAPIError:
    return bad_request(
        f"File storage limit reached: this mock API stores at most {limit} bytes of files "
        "(MOCK_OPENAI_MAX_STORED_BYTES). Delete files you no longer need and try again.",
        param="file",
        code="storage_limit_exceeded",
    )


class FileStore:
    """Files under `input_files/` (uploads) and `output_files/` (what batches produce): records and data."""

    def __init__(self, root: Path, clock: Callable[[], float]):
        self.clock = clock
        self.input_dir = root / "input_files"
        self.output_dir = root / "output_files"

    def _directory(self, purpose: str) -> Path:
        return self.output_dir if purpose == "batch_output" else self.input_dir

    def _record_path(self, file_id: str) -> Path | None:
        if not is_file_id(file_id):
            return None
        for directory in (self.input_dir, self.output_dir):
            path = directory / f"{file_id}.json"
            if path.exists():
                return path
        return None

    def record(self, file_id: str) -> dict:
        """The stored record `{"file": <OpenAI file object>, "parts": [...], "order": ns}`; 404 if unknown."""
        path = self._record_path(file_id)
        record = read_json(path) if path else None
        if record is None:
            raise file_not_found(file_id)
        return record

    def data_paths(self, record: dict) -> list[Path]:
        directory = self._directory(record["file"]["purpose"])
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

    def stored_bytes(self) -> int:
        """The bytes of every stored file (uploads and batch outputs), as their file objects count them."""
        return sum(record["file"]["bytes"] for record in self.iter_records())

    @contextmanager
    def _uploads_lock(self, wanted: bool):
        """Serialises uploads (across processes) while a storage cap is enforced, so two cannot both fit."""
        if not wanted:
            yield
            return
        with exclusive_lock(self.input_dir.parent / "uploads.lock"):
            yield

    def save_upload(
        self,
        chunks: Iterable[bytes],
        *,
        filename: str,
        purpose: str,
        max_bytes: int,
        expires_in: int | None,
        max_stored_bytes: int | None = None,
    ) -> dict:
        """Stream an upload into `input_files/`; refuse it (400) once it passes `max_bytes`, or once the
        files stored would pass `max_stored_bytes`."""
        file_id = new_file_id()
        data_name = f"{file_id}.jsonl"
        size = 0
        with self._uploads_lock(max_stored_bytes is not None):
            room = None if max_stored_bytes is None else max_stored_bytes - self.stored_bytes()
            with atomic_writer(self.input_dir / data_name) as handle:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise bad_request(f"File is too large: the limit is {max_bytes} bytes.", param="file")
                    if room is not None and size > room:
                        raise storage_limit_reached(max_stored_bytes)
                    handle.write(chunk)
            return self._publish_upload(file_id, data_name, filename, purpose, size, expires_in)

    def _publish_upload(
        self, file_id: str, data_name: str, filename: str, purpose: str, size: int, expires_in: int | None
    ) -> dict:
        expires_at = int(self.clock()) + expires_in if expires_in else None
        file_object = self.new_file_object(
            file_id, filename=filename, purpose=purpose, size=size, expires_at=expires_at
        )
        self.publish(file_object, [data_name])
        return file_object

    def new_run_dir(self) -> Path:
        """A private directory for one run's segments, beside the output files (so publishing is a rename).

        Named `.tmp-run-*`: never listed nor served, and a stray path if its run dies with it."""
        return Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX, dir=self.output_dir))

    @staticmethod
    def part_name(file_id: str, part: int) -> str:
        """The name of segment `part` of an output or error file."""
        return f"{file_id}.{part}.jsonl"

    def publish(self, file_object: dict, parts: list[str]) -> None:
        """Make a file visible by writing its record, after all its data segments are in place."""
        record = {"file": file_object, "parts": parts, "order": time.time_ns()}
        write_json_atomically(self._directory(file_object["purpose"]) / f"{file_object['id']}.json", record)

    def publish_segments(self, file_object: dict, segments: list[Path]) -> None:
        """Publish a file whose segments were written in a run directory: move them into place, then write
        the record. If that fails, the segments already moved go again, so nothing is left behind."""
        directory = self._directory(file_object["purpose"])
        moved: list[str] = []
        try:
            for segment in segments:
                os.rename(segment, directory / segment.name)
                moved.append(segment.name)
            self.publish(file_object, moved)
        except BaseException:
            for name in moved:
                (directory / name).unlink(missing_ok=True)
            raise

    def iter_records(self) -> Iterator[dict]:
        for directory in (self.input_dir, self.output_dir):
            for path in directory.glob("file-*.json"):
                record = read_json(path)  # None when deleted since the glob
                if record is not None:
                    yield record

    def delete(self, file_id: str) -> None:
        record = self.record(file_id)
        record_path = self._record_path(file_id)
        data = self.data_paths(record)
        with suppress(FileNotFoundError):
            record_path.unlink()  # the file stops existing here; the data go after
        for path in data:
            with suppress(FileNotFoundError):
                path.unlink()

    def iter_content(self, file_id: str, chunk_size: int = COPY_CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes of a file, segment after segment, never more than `chunk_size` in memory."""
        paths = self.data_paths(self.record(file_id))
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

    def stray_paths(self) -> Iterator[Path]:
        """`.tmp-*` left by a crash mid-write and data segments of no file record."""
        parts = set()
        for record in self.iter_records():
            parts.update(record["parts"])
        for directory in (self.input_dir, self.output_dir):
            for path in directory.iterdir():
                is_record = path.suffix == ".json" and is_file_id(path.stem)
                if not is_record and path.name not in parts:
                    yield path


class BatchStore:
    """`batch_metadata/`: one JSON record per batch, the lock file that serialises its changes, and while the
    batch is not finished its own name for its input (see `keep_input`)."""

    def __init__(self, root: Path):
        self.dir = root / "batch_metadata"

    def _record_path(self, batch_id: str) -> Path | None:
        return self.dir / f"{batch_id}.json" if is_batch_id(batch_id) else None

    def _lock_path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.lock"

    def input_path(self, batch_id: str) -> Path:
        """Where the batch keeps its input from create until it finishes."""
        return self.dir / f"{batch_id}{BATCH_INPUT_SUFFIX}"

    def keep_input(self, batch_id: str, data: Path) -> None:
        """Give the batch its own name for its input file's data (a hard link, else a copy), so that deleting
        the file from the Files API, as OpenAI allows, does not take the input from a batch that runs.
        FileNotFoundError when the data went meanwhile (the file was being deleted)."""
        link_or_copy(data, self.input_path(batch_id))

    def release_input(self, batch_id: str) -> None:
        """Drop the batch's own input: it is finished (or gone) and reads it no more."""
        self.input_path(batch_id).unlink(missing_ok=True)

    def record(self, batch_id: str) -> dict:
        """The stored record `{"batch": <OpenAI batch object>, "run": {...engine state}, "order": ns}`."""
        path = self._record_path(batch_id)
        record = read_json(path) if path else None
        if record is None:
            raise not_found(f"No batch found with id '{batch_id}'.")
        return record

    def save(self, record: dict) -> None:
        write_json_atomically(self.dir / f"{record['batch']['id']}.json", record)

    def iter_records(self) -> Iterator[dict]:
        for path in self.dir.glob("batch_*.json"):
            record = read_json(path)
            if record is not None:
                yield record

    @contextmanager
    def lock(self, batch_id: str):
        """An exclusive lock on one batch, across threads and processes (flock on a lock file)."""
        self.record(batch_id)  # 404 before creating a lock file for an unknown id
        with exclusive_lock(self._lock_path(batch_id)):
            yield

    def delete(self, batch_id: str) -> None:
        """Remove a batch's record, then its input and lock file; the caller holds the batch's lock.

        The record goes first, so the batch stops existing before anything else is touched; a process
        waiting on the lock then finds no record and answers 404, as for any unknown batch.
        """
        record_path = self._record_path(batch_id)
        if record_path is None:
            raise not_found(f"No batch found with id '{batch_id}'.")
        record_path.unlink()
        self.release_input(batch_id)  # normally released when the batch finished; not after a crash
        with suppress(FileNotFoundError):  # a batch never locked has no lock file
            self._lock_path(batch_id).unlink()

    def stray_paths(self) -> Iterator[Path]:
        """`.tmp-*` left by a crash mid-write, and lock files and inputs of batches that no longer exist (a
        create that died before saving its batch leaves its input)."""
        for path in self.dir.iterdir():
            name = path.name
            if name.endswith(BATCH_INPUT_SUFFIX):
                batch_id = name.removesuffix(BATCH_INPUT_SUFFIX)
            elif path.suffix == ".lock":
                batch_id = path.stem
            else:
                batch_id = None
            orphan = batch_id is not None and not (self.dir / f"{batch_id}.json").exists()
            if orphan or name.startswith(TEMP_PREFIX):
                yield path


class MockStorage:
    """Files and batches under one root directory."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.time):
        self.root = Path(root)
        self.files = FileStore(self.root, clock)
        self.batches = BatchStore(self.root)
        for directory in (self.files.input_dir, self.files.output_dir, self.batches.dir):
            directory.mkdir(parents=True, exist_ok=True)

    def batch_input(self, batch: dict) -> Path | None:
        """The data a batch reads as its input: its own copy, kept at create. A batch created before batches
        kept one reads its input file while that exists. None when there is none."""
        path = self.batches.input_path(batch["id"])
        if path.exists():
            return path
        try:
            record = self.files.record(batch["input_file_id"])
        except MockAPIError:
            return None
        return self.files.data_paths(record)[0]

    def stray_paths(self) -> Iterator[Path]:
        """Paths nothing refers to (files, and a dead run's `.tmp-run-*` directories). Only ever removed once
        old (see housekeeping.clean): a young one may be a write in progress."""
        yield from self.files.stray_paths()
        yield from self.batches.stray_paths()
