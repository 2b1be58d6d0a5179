"""Importing job postings from CSV, JSON (a list of objects) or JSON Lines.

Rows are upserted by ``external_id``: an unchanged row is a duplicate, a changed one is updated and
embedded again. A row that cannot be used (a missing or too long field, a NUL character, bytes that are
not UTF-8, broken JSON or CSV, an ``external_id`` seen earlier in the same file) is rejected with its
line number and the reason, and the rest of the file goes on: only a file that cannot be opened or
whose CSV header / JSON document cannot be read is an ``UnreadableFile``. Within one file the first row
with an ``external_id`` wins; a later one is rejected as a duplicate.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from django.db import DataError, IntegrityError, OperationalError, transaction
from django.utils import timezone

from core.importing.files import NotImportable, open_regular, shown
from core.models import EmbeddingStatus, Job

REQUIRED = ("external_id", "title", "description")
OPTIONAL = ("company", "location")
FIELDS = (*REQUIRED, *OPTIONAL, "skills")
MAX_CHARS = {"external_id": 128, "title": 255, "company": 255, "location": 255, "description": 100_000}
MAX_SKILLS = 100
MAX_SKILL_CHARS = 100
MAX_LINE = 1_000_000  # bytes of a JSON line, characters of a CSV line or of one CSV field
MAX_JSON_BYTES = 100 * 1024 * 1024  # a .json document is read whole; larger ones should be .jsonl
_SURROGATE = re.compile("[\ud800-\udfff]")  # what bytes that are not UTF-8 decode to (surrogateescape)


class UnreadableFile(Exception):
    """The whole file cannot be read; nothing was imported."""


class _LineTooLong(Exception):
    pass


@dataclass
class JobImportReport:
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, why)

    @property
    def read(self) -> int:
        return self.created + self.updated + self.duplicates


def _skip_rest_of_line(handle) -> None:
    while (rest := handle.readline(1 << 16)) and not rest.endswith(b"\n"):
        pass


def _jsonl_records(path: Path, handle) -> Iterator[tuple[int, object]]:
    number = 0
    while line := handle.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            _skip_rest_of_line(handle)
            yield number, ValueError(f"line is longer than {MAX_LINE:,} bytes")
            continue
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, ValueError(f"not valid UTF-8 (byte {exc.start + 1} of the line)")
            continue
        try:
            yield number, orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield number, ValueError(f"invalid JSON: {exc}")


class _Lines:
    """The physical lines of a text file for ``csv.reader``, counted, none longer than MAX_LINE.

    It also counts the quote characters of the record being read: after a record that cannot be read
    (a line or a field too long), an odd count means the error came inside a quoted field, and
    ``resync`` skips the rest of that field, so the record's remaining lines are not read as rows.
    """

    def __init__(self, handle):
        self.handle, self.number, self.quotes = handle, 0, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.handle.readline(MAX_LINE + 1)
        if not line:
            raise StopIteration
        self.number += 1
        self.quotes += line.count('"')
        if len(line) > MAX_LINE and not line.endswith(("\n", "\r")):
            while (rest := self.handle.readline(1 << 16)) and not rest.endswith(("\n", "\r")):
                self.quotes += rest.count('"')
            self.quotes += rest.count('"')
            raise _LineTooLong(f"line is longer than {MAX_LINE:,} characters")
        return line

    def resync(self) -> None:
        while self.quotes % 2:
            try:
                next(self)
            except StopIteration:
                return
            except _LineTooLong:
                continue


def _csv_records(path: Path, raw) -> Iterator[tuple[int, object]]:
    # Bytes that are not UTF-8 become surrogates (surrogateescape) and reject only the row they are in.
    lines = _Lines(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=""))
    reader = csv.reader(lines)
    header = None
    while True:
        start, lines.quotes = lines.number + 1, 0
        try:
            row = next(reader)
        except StopIteration:
            if header is None:
                raise UnreadableFile(f"{shown(path)}: CSV header lacks external_id, title") from None
            return
        except (csv.Error, _LineTooLong) as exc:
            reason = str(exc)
            if isinstance(exc, csv.Error) and "field limit" in reason:
                reason = f"a field is longer than {MAX_LINE:,} characters"
            if header is None:
                raise UnreadableFile(f"{shown(path)}: unreadable CSV header: {reason}") from exc
            lines.resync()
            yield start, ValueError(f"unreadable CSV: {reason}")
            continue
        if not row:
            continue  # a blank line
        if header is None:
            header = [name.strip() for name in row]
            if any("\x00" in name or _SURROGATE.search(name) for name in header):
                raise UnreadableFile(f"{shown(path)}: CSV header is not valid UTF-8 text")
            missing = [name for name in ("external_id", "title") if name not in header]
            if missing:
                raise UnreadableFile(f"{shown(path)}: CSV header lacks {', '.join(missing)}")
            continue
        record = dict.fromkeys(header)
        record.update(zip(header, row, strict=False))  # extra fields are ignored, missing ones are None
        yield start, record


def _json_records(path: Path, raw) -> Iterator[tuple[int, object]]:
    if os.fstat(raw.fileno()).st_size > MAX_JSON_BYTES:
        raise UnreadableFile(f"{shown(path)}: larger than {MAX_JSON_BYTES:,} bytes: use JSON Lines (.jsonl)")
    try:
        data = orjson.loads(raw.read(MAX_JSON_BYTES + 1))
    except orjson.JSONDecodeError as exc:
        raise UnreadableFile(f"{shown(path)}: invalid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("jobs"), list):
        data = data["jobs"]
    if not isinstance(data, list):
        raise UnreadableFile(f"{shown(path)}: expected a JSON list of job objects")
    yield from enumerate(data, start=1)


def _records(path: Path) -> Iterator[tuple[int, object]]:
    """(line or item number, raw record) pairs; a broken record is yielded as a ValueError to reject.

    UnreadableFile before the first pair when nothing can be read. A read error part way (an I/O error)
    rejects the rest of the file as one entry.
    """
    suffix = path.suffix.lower()
    readers = {".jsonl": _jsonl_records, ".csv": _csv_records, ".json": _json_records}
    if suffix not in readers:
        raise UnreadableFile(
            f"{shown(path)}: unsupported file type {shown(suffix) or '(none)'}: expected .csv, .json or .jsonl"
        )
    try:
        raw = open_regular(path)
    except NotImportable as exc:
        raise UnreadableFile(f"{shown(path)}: {exc}") from exc
    except OSError as exc:
        raise UnreadableFile(f"{shown(path)}: unreadable: {exc.strerror or exc}") from exc
    csv_limit = csv.field_size_limit()
    last = 0
    try:
        csv.field_size_limit(MAX_LINE)
        with raw:
            for last, record in readers[suffix](path, raw):
                yield last, record
    except OSError as exc:
        if last == 0:
            raise UnreadableFile(f"{shown(path)}: unreadable: {exc.strerror or exc}") from exc
        yield last + 1, ValueError(f"unreadable from here on: {exc.strerror or exc}")
    finally:
        csv.field_size_limit(csv_limit)


def _check_text(name: str, text: str, limit: int, entry: bool = False) -> None:
    what = f"field '{name}' has an entry" if entry else f"field '{name}'"
    if "\x00" in text:
        raise ValueError(f"{what} {'with' if entry else 'contains'} a NUL character")
    if _SURROGATE.search(text):
        raise ValueError(f"{what} {'that is' if entry else 'is'} not valid UTF-8")
    if len(text) > limit:
        raise ValueError(f"{what} {'' if entry else 'is '}longer than {limit:,} characters")


def _skills(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        _check_text("skills", value, MAX_LINE)
        separator = ";" if ";" in value else ","
        items = [part.strip() for part in value.split(separator) if part.strip()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value if item.strip()]
    else:
        raise ValueError("field 'skills' must be a list of strings or a comma-separated string")
    for item in items:
        _check_text("skills", item, MAX_SKILL_CHARS, entry=True)
    if len(items) > MAX_SKILLS:
        raise ValueError(f"field 'skills' has more than {MAX_SKILLS} entries")
    return items


def clean_job(record) -> dict:
    """The fields of a job from one raw record, or ValueError naming the field that cannot be used."""
    if isinstance(record, Exception):
        raise ValueError(str(record))
    if not isinstance(record, dict):
        raise ValueError("not an object")
    cleaned = {}
    for name in (*REQUIRED, *OPTIONAL):
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            raise ValueError(f"field '{name}' must be text")
        text = "" if value is None else str(value).strip()
        if name in REQUIRED and not text:
            raise ValueError(f"missing field '{name}'")
        _check_text(name, text, MAX_CHARS[name])
        cleaned[name] = text
    cleaned["skills"] = _skills(record.get("skills"))
    return cleaned


UPSERT_CHUNK = 500  # rows written per transaction


def import_jobs_file(path: Path) -> JobImportReport:
    """Import every usable row of ``path``; every other row is in ``rejected`` with its reason.

    Raises UnreadableFile only when nothing could be read (no such file, a link, no CSV header ...).
    """
    report = JobImportReport()
    unit = "item" if path.suffix.lower() == ".json" else "line"
    first_seen: dict[str, int] = {}
    cleaned: list[tuple[str, dict]] = []  # (where, job) read but not written yet
    for number, record in _records(path):
        where = f"{shown(path)}:{number}"
        try:
            job = clean_job(record)
            first = first_seen.get(job["external_id"])
            if first is not None:
                raise ValueError(f"duplicate external_id {job['external_id']!r} (first at {unit} {first})")
        except ValueError as exc:
            _reject(report, where, exc)
            continue
        first_seen[job["external_id"]] = number
        cleaned.append((where, job))
        if len(cleaned) >= UPSERT_CHUNK:
            _forget(first_seen, _write(cleaned, report))
            cleaned.clear()
    _forget(first_seen, _write(cleaned, report))
    return report


def _forget(first_seen: dict[str, int], refused: set[str]) -> None:
    """A row the database refused is not the first of its external_id: a later one may still be used."""
    for external_id in refused:
        first_seen.pop(external_id, None)


def _reject(report: JobImportReport, where: str, exc: Exception) -> None:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, DataError | IntegrityError):
        reason = f"the database refused the row: {reason}"
    report.rejected.append((where, reason[:1000]))


def _write(rows: list[tuple[str, dict]], report: JobImportReport) -> set[str]:
    """Write a chunk in one transaction (a query per row was two thirds of importing 1,000 jobs); if the
    database refuses it, or another import created or locked one of its jobs meanwhile (a deadlock of two
    imports of overlapping files), row by row instead, so each refusal is reported against its own line.
    Returns the external ids of the rows refused."""
    if not rows:
        return set()
    tally = JobImportReport()
    try:
        _upsert_chunk(sorted((job for _, job in rows), key=lambda job: job["external_id"]), tally)
    except (DataError, IntegrityError, OperationalError):
        refused = set()
        for where, job in rows:
            try:
                _upsert(job, report)
            except (DataError, IntegrityError) as exc:
                _reject(report, where, exc)
                refused.add(job["external_id"])
        return refused
    report.created += tally.created
    report.updated += tally.updated
    report.duplicates += tally.duplicates
    return set()


def _upsert_chunk(jobs: list[dict], report: JobImportReport) -> None:
    with transaction.atomic():
        existing = {
            job.external_id: job
            for job in Job.objects.select_for_update()
            .filter(external_id__in=[data["external_id"] for data in jobs])
            .order_by("external_id")  # locks taken in one order by every import
        }
        Job.objects.bulk_create([Job(**data) for data in jobs if data["external_id"] not in existing])
        report.created += len(jobs) - len(existing)
        changed = []
        for data in jobs:
            job = existing.get(data["external_id"])
            if job is not None and _apply_changes(job, data):
                changed.append(job)
        report.updated += len(changed)
        report.duplicates += len(existing) - len(changed)
        if changed:
            Job.objects.bulk_update(changed, [*FIELDS, *_REEMBED_FIELDS, "updated_at"])


_REEMBED_FIELDS = ("embedding_status", "embedding_attempts", "embedding_version")


def _apply_changes(job: Job, data: dict) -> bool:
    """Set ``data`` on the locked ``job``; False when nothing differs.

    A changed job is a new input for its embedding, even with one in flight: that one was built from the
    old text and is superseded when it comes back (the version no longer matches)."""
    changed = [name for name in FIELDS if getattr(job, name) != data[name]]
    if not changed:
        return False
    for name in changed:
        setattr(job, name, data[name])
    job.embedding_status, job.embedding_attempts = EmbeddingStatus.PENDING, 0
    job.embedding_version += 1
    job.updated_at = timezone.now()
    return True


def _upsert(data: dict, report: JobImportReport) -> None:
    with transaction.atomic():
        job, created = Job.objects.select_for_update().get_or_create(
            external_id=data["external_id"], defaults={k: v for k, v in data.items() if k != "external_id"}
        )
        if created:
            report.created += 1
        elif _apply_changes(job, data):
            job.save()
            report.updated += 1
        else:
            report.duplicates += 1
