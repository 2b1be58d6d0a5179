"""Writes that either complete or leave nothing: a temporary file beside the target, fsynced, renamed.

Shared by the mock's storage (records, uploads, output segments) and by `BatchService` writing batch
input files, so a crash never leaves half a file where a reader looks.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path

import orjson

TEMP_PREFIX = ".tmp-"
COPY_CHUNK_BYTES = 1 << 20


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


def link_or_copy(source: Path, target: Path) -> None:
    """Give `source`'s data a second name, `target`: a hard link (no bytes copied), or where the
    filesystem refuses one (another device, no hard links), an atomic copy. FileNotFoundError when
    `source` is gone."""
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise
    except OSError:
        with source.open("rb") as original, atomic_writer(target) as copy:
            shutil.copyfileobj(original, copy, COPY_CHUNK_BYTES)
        return
    _fsync_directory(target.parent)
