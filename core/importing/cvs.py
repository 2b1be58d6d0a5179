"""Importing CV files: text, Markdown and PDF, deduplicated by the sha256 of their text.

A file that cannot be used is rejected with its reason and the rest go on; the same text imported
twice (under any name) is a duplicate, not a second CV.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from core.models import EmbeddingStatus, ParseStatus, content_hash

TEXT_SUFFIXES = {".txt", ".md"}
PDF_SUFFIX = ".pdf"
INSERT_CHUNK = 500


class RejectedFile(Exception):
    """A file that cannot become a CV; the message says why."""


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, why)

    @property
    def read(self) -> int:
        return self.created + self.duplicates


def _clean_text(text: str) -> str:
    if "\x00" in text:
        raise RejectedFile("not text: contains NUL bytes (a binary file?)")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise RejectedFile("empty: no text in the file")
    return text


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise RejectedFile("unreadable: the PDF is encrypted")
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise RejectedFile(f"unreadable PDF: {exc}") from exc


def read_cv_file(path: Path) -> str:
    """The text of a CV file, or RejectedFile saying why there is none."""
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            try:
                return _clean_text(path.read_bytes().decode("utf-8-sig"))
            except UnicodeDecodeError as exc:
                raise RejectedFile(f"not text: not valid UTF-8 (byte {exc.start})") from exc
        if suffix == PDF_SUFFIX:
            return _clean_text(_read_pdf(path))
    except OSError as exc:
        raise RejectedFile(f"unreadable: {exc.strerror or exc}") from exc
    raise RejectedFile(f"unsupported file type {suffix or '(none)'}: expected .txt, .md or .pdf")


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the files of folders (recursively, hidden files skipped), in name order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
        else:
            yield path


def _insert(rows: list[tuple[str, str, str]]) -> set[str]:
    """Insert (source_name, text, hash) rows; the hashes actually inserted (the rest already existed)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO core_cv (source_name, raw_text, content_hash, parse_status, parse_attempts, parse_error,
                                 embedding_status, embedding_attempts, embedding_error, created_at, updated_at)
            SELECT name, body, hash, %s, 0, '', %s, 0, '', now(), now()
            FROM unnest(%s::text[], %s::text[], %s::text[]) AS incoming(name, body, hash)
            ON CONFLICT (content_hash) DO NOTHING
            RETURNING content_hash
            """,
            [ParseStatus.PENDING, EmbeddingStatus.PENDING, *map(list, zip(*rows, strict=True))],
        )
        return {row[0] for row in cursor.fetchall()}


def import_cv_files(paths: Iterable[Path], progress=None) -> ImportReport:
    report = ImportReport()
    pending: list[tuple[str, str, str]] = []

    def flush():
        inserted = _insert(pending)
        report.created += len(inserted)
        report.duplicates += len(pending) - len(inserted)
        pending.clear()

    seen: set[str] = set()
    for path in expand_paths(paths):
        try:
            text = read_cv_file(path)
        except RejectedFile as exc:
            report.rejected.append((str(path), str(exc)))
        else:
            digest = content_hash(text)
            if digest in seen:
                report.duplicates += 1
            else:
                seen.add(digest)
                pending.append((path.name[:255], text, digest))
                if len(pending) >= INSERT_CHUNK:
                    flush()
        if progress is not None:
            progress(1)
    if pending:
        flush()
    return report
