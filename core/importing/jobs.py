"""Importing job postings from CSV, JSON (a list of objects) or JSON Lines.

Rows are upserted by ``external_id``: an unchanged row is a duplicate, a changed one is updated and
embedded again. A row missing a required field is rejected with its line number and the field.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from django.db import transaction

from core.models import EmbeddingStatus, Job

REQUIRED = ("external_id", "title", "description")
OPTIONAL = ("company", "location")
FIELDS = (*REQUIRED, *OPTIONAL, "skills")


class UnreadableFile(Exception):
    """The whole file cannot be read; nothing was imported."""


@dataclass
class JobImportReport:
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, why)

    @property
    def read(self) -> int:
        return self.created + self.updated + self.duplicates


def _records(path: Path) -> Iterator[tuple[int, object]]:
    """(line or item number, raw record) pairs; a broken line is yielded as an exception to reject."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        try:
                            yield number, orjson.loads(line)
                        except orjson.JSONDecodeError as exc:
                            yield number, ValueError(f"invalid JSON: {exc}")
        elif suffix == ".json":
            try:
                data = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise UnreadableFile(f"{path}: invalid JSON: {exc}") from exc
            if isinstance(data, dict) and isinstance(data.get("jobs"), list):
                data = data["jobs"]
            if not isinstance(data, list):
                raise UnreadableFile(f"{path}: expected a JSON list of job objects")
            yield from enumerate(data, start=1)
        elif suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = [name for name in ("external_id", "title") if name not in (reader.fieldnames or [])]
                if missing:
                    raise UnreadableFile(f"{path}: CSV header lacks {', '.join(missing)}")
                for row in reader:
                    yield reader.line_num, row
        else:
            raise UnreadableFile(f"{path}: unsupported file type {suffix or '(none)'}: expected .csv, .json or .jsonl")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path}: not text: not valid UTF-8") from exc
    except OSError as exc:
        raise UnreadableFile(f"{path}: unreadable: {exc.strerror or exc}") from exc


def _skills(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        separator = ";" if ";" in value else ","
        return [part.strip() for part in value.split(separator) if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise ValueError("field 'skills' must be a list of strings or a comma-separated string")


def clean_job(record) -> dict:
    if isinstance(record, Exception):
        raise ValueError(str(record))
    if not isinstance(record, dict):
        raise ValueError("not an object")
    cleaned = {}
    for name in (*REQUIRED, *OPTIONAL):
        value = record.get(name)
        if value is not None and not isinstance(value, str | int):
            raise ValueError(f"field '{name}' must be text")
        text = "" if value is None else str(value).strip()
        if name in REQUIRED and not text:
            raise ValueError(f"missing field '{name}'")
        cleaned[name] = text
    if len(cleaned["external_id"]) > 128:
        raise ValueError("field 'external_id' is longer than 128 characters")
    cleaned["title"] = cleaned["title"][:255]
    cleaned["skills"] = _skills(record.get("skills"))
    return cleaned


def import_jobs_file(path: Path) -> JobImportReport:
    report = JobImportReport()
    for number, record in _records(path):
        where = f"{path}:{number}"
        try:
            job = clean_job(record)
        except ValueError as exc:
            report.rejected.append((where, str(exc)))
            continue
        _upsert(job, report)
    return report


def _upsert(data: dict, report: JobImportReport) -> None:
    with transaction.atomic():
        job, created = Job.objects.select_for_update().get_or_create(
            external_id=data["external_id"], defaults={k: v for k, v in data.items() if k != "external_id"}
        )
        if created:
            report.created += 1
            return
        changed = [name for name in FIELDS if getattr(job, name) != data[name]]
        if not changed:
            report.duplicates += 1
            return
        for name in changed:
            setattr(job, name, data[name])
        # A new input for the embedding, even with one in flight: that one was built from the old text
        # and is superseded when it comes back (the version no longer matches).
        job.embedding_status, job.embedding_attempts = EmbeddingStatus.PENDING, 0
        job.embedding_version += 1
        job.save()
        report.updated += 1
