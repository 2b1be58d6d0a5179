"""Inspecting and tidying the mock's storage: what `manage.py mock_batches show` and `clean` run.

Part of the mock's public API beside `MockBatchEngine` (which only answers what OpenAI answers): OpenAI
keeps and expires files itself, while the mock's root only grows until someone removes old batches. Both
functions work on an engine's storage, under the same per-batch locks the engine takes, and need no
database.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MockAPIError
from .facade import MockBatchEngine
from .lifecycle import TERMINAL
from .storage import MockStorage

BATCH_FILE_ROLES = ("input", "output", "error")
TERMINAL_TIMES = ("completed_at", "failed_at", "expired_at", "cancelled_at")


@dataclass
class CleanReport:
    """What `clean` deleted (or, on a dry run, would delete)."""

    dry_run: bool = False
    batches: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    stray_paths: int = 0
    bytes: int = 0
    in_progress: int = 0  # batches not finished, which are always kept


def batch_detail(engine: MockBatchEngine, batch_id: str) -> dict:
    """The batch as last observed (not advanced: inspecting must not run it) and its files.

    ``files`` lists ``{"role", "id", "file", "paths"}`` for the input, output and error files the batch
    names: ``file`` is the file object and ``paths`` its data on disk, or None and [] once deleted.
    Raises MockAPIError (404) for an unknown batch, as a retrieve would.
    """
    store = engine.storage.files
    batch = engine.storage.batches.record(batch_id)["batch"]
    files = []
    for role in BATCH_FILE_ROLES:
        file_id = batch[f"{role}_file_id"]
        if not file_id:
            continue
        try:
            record = store.record(file_id)
        except MockAPIError as error:
            if error.status != 404:
                raise
            files.append({"role": role, "id": file_id, "file": None, "paths": []})
            continue
        paths = [str(path) for path in store.data_paths(record)]
        files.append({"role": role, "id": file_id, "file": record["file"], "paths": paths})
    return {"batch": batch, "files": files}


def clean(engine: MockBatchEngine, older_than: float, *, dry_run: bool = False) -> CleanReport:
    """Delete finished batches (and their files) that finished more than `older_than` seconds ago.

    A batch that is not terminal is never deleted, nor is any file such a batch, or a batch finished more
    recently, refers to; a deleted batch takes its own copy of its input with it. Files no kept batch
    refers to go once older than the cutoff (uploads never used, the files of batches deleted earlier),
    and so do stray paths (crash leftovers, among them the directory of a run that died with its process).
    A cutoff of "now" is refused: a young stray path may be a write in progress. `dry_run` reports and
    deletes nothing.
    """
    if older_than <= 0:
        raise ValueError("older_than must be positive: a younger file may be a write in progress")
    storage = engine.storage
    cutoff = engine.clock() - older_than
    report = CleanReport(dry_run=dry_run)
    kept_files = _clean_batches(storage, cutoff, report)
    _clean_files(storage, cutoff, kept_files, report)
    _clean_stray_paths(storage, cutoff, report)
    return report


def _clean_batches(storage: MockStorage, cutoff: float, report: CleanReport) -> set[str]:
    """Delete the batches finished before the cutoff; the ids of the files the other batches name."""
    kept_files: set[str] = set()
    doomed = []
    for record in storage.batches.iter_records():
        batch = record["batch"]
        if batch["status"] not in TERMINAL:
            report.in_progress += 1
        if batch["status"] in TERMINAL and _finished_at(batch) < cutoff:
            doomed.append(batch["id"])
        else:
            kept_files.update(batch[f"{role}_file_id"] for role in BATCH_FILE_ROLES if batch[f"{role}_file_id"])
    for batch_id in doomed:
        if report.dry_run or _deleted(lambda batch_id=batch_id: _delete_batch(storage, batch_id)):
            report.batches.append(batch_id)
    return kept_files


def _clean_files(storage: MockStorage, cutoff: float, kept_files: set[str], report: CleanReport) -> None:
    for record in list(storage.files.iter_records()):
        file_object = record["file"]
        if file_object["id"] in kept_files or file_object["created_at"] >= cutoff:
            continue
        if report.dry_run or _deleted(lambda file_id=file_object["id"]: storage.files.delete(file_id)):
            report.files.append(file_object["id"])
            report.bytes += file_object["bytes"]


def _clean_stray_paths(storage: MockStorage, cutoff: float, report: CleanReport) -> None:
    for path in list(storage.stray_paths()):
        try:
            newest, size = _age_and_size(path)
        except FileNotFoundError:  # renamed into place or removed since it was listed
            continue
        if newest < cutoff:
            if not report.dry_run:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            report.stray_paths += 1
            report.bytes += size


def _age_and_size(path: Path) -> tuple[float, int]:
    """(newest mtime, bytes) of a stray file, or of a stray run directory and the files in it: a run still
    writing keeps its directory young."""
    stat = path.stat()
    if not path.is_dir():
        return stat.st_mtime, stat.st_size
    newest, size = stat.st_mtime, 0
    for inner in path.rglob("*"):
        try:
            inner_stat = inner.stat()
        except FileNotFoundError:
            continue
        newest = max(newest, inner_stat.st_mtime)
        size += inner_stat.st_size if inner.is_file() else 0
    return newest, size


def _delete_batch(storage: MockStorage, batch_id: str) -> None:
    with storage.batches.lock(batch_id):
        storage.batches.delete(batch_id)


def _deleted(delete: Callable[[], None]) -> bool:
    """Run `delete`; False when the object had already gone (another cleaner got there first)."""
    try:
        delete()
    except MockAPIError as error:
        if error.status != 404:
            raise
        return False
    return True


def _finished_at(batch: dict) -> int:
    """When a terminal batch reached its status (Unix seconds)."""
    return max((batch[name] for name in TERMINAL_TIMES if batch[name]), default=batch["created_at"])
