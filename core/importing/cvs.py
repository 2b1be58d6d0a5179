"""Importing CV files: text, Markdown and PDF, deduplicated by the sha256 of their text.

A file that cannot be used is rejected with its reason and the rest go on; the same text imported
twice (under any name) is a duplicate, not a second CV. Only regular files are read: symbolic links
(wherever they point), named pipes and devices are rejected, see ``core.importing.files``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from core.batches.bulk_sql import binary_params_cursor
from core.importing.files import NotImportable, open_regular, refusal, shown
from core.models import EmbeddingStatus, ParseStatus, content_hash

TEXT_SUFFIXES = {".txt", ".md"}
PDF_SUFFIX = ".pdf"
INSERT_CHUNK = 500
MAX_CV_BYTES = 20 * 1024 * 1024  # a CV file larger than this is rejected unread


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
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from a PDF's broken character map
        raise RejectedFile(f"not text: character {exc.start} cannot be stored (not Unicode text)") from exc
    return text


def _read_pdf(data: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise RejectedFile("unreadable: the PDF is encrypted")
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except RejectedFile:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf on a malformed file raises almost anything; one file, one reason
        raise RejectedFile(f"unreadable PDF: {type(exc).__name__}: {exc}"[:500]) from exc


def _read_bytes(path: Path) -> bytes:
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(MAX_CV_BYTES + 1) if size <= MAX_CV_BYTES else b""
    if size > MAX_CV_BYTES or len(data) > MAX_CV_BYTES:
        raise RejectedFile(f"too large: {max(size, len(data)):,} bytes (the limit is {MAX_CV_BYTES:,})")
    return data


def read_cv_file(path: Path) -> str:
    """The text of a CV file, or RejectedFile saying why there is none."""
    suffix = path.suffix.lower()
    try:
        reason = refusal(path)
        if reason is not None:
            raise RejectedFile(reason)
        if suffix in TEXT_SUFFIXES:
            data = _read_bytes(path)
            try:
                return _clean_text(data.decode("utf-8-sig"))
            except UnicodeDecodeError as exc:
                raise RejectedFile(f"not text: not valid UTF-8 (byte {exc.start})") from exc
        if suffix == PDF_SUFFIX:
            return _clean_text(_read_pdf(_read_bytes(path)))
    except NotImportable as exc:
        raise RejectedFile(str(exc)) from exc
    except OSError as exc:
        raise RejectedFile(f"unreadable: {exc.strerror or exc}") from exc
    raise RejectedFile(f"unsupported file type {shown(suffix) or '(none)'}: expected .txt, .md or .pdf")


def _walk(folder: Path) -> Iterator[Path]:
    """Every entry under ``folder`` that is not a folder: files, and also links, pipes and devices, which
    are yielded to be rejected with their reason. Links to folders are not followed; hidden entries
    (a name starting with ".") are skipped; a subfolder that cannot be listed is yielded to be rejected."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                found = list(entries)
        except OSError:
            yield current
            continue
        for entry in found:
            if entry.name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if is_folder:
                stack.append(Path(entry.path))
            else:
                yield Path(entry.path)


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Paths as given, and what is in folders (recursively, hidden entries skipped), in name order.

    A folder is walked only when it is a real folder: a path that is a link is yielded as is (and
    rejected by ``read_cv_file``), whether it was given or found in a folder.
    """
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            yield from sorted(_walk(path))
        else:
            yield path


def _insert(rows: list[tuple[str, str, str]]) -> set[str]:
    """Insert (source_name, text, hash) rows; the hashes actually inserted (the rest already existed)."""
    with transaction.atomic(), binary_params_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO core_cv (source_name, raw_text, content_hash, parse_status, parse_attempts, parse_error,
                                 embedding_status, embedding_attempts, embedding_error, created_at, updated_at)
            SELECT name, body, hash, %s, 0, '', %s, 0, '', now(), now()
            FROM unnest(%b::text[], %b::text[], %b::text[]) AS incoming(name, body, hash)
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
            report.rejected.append((shown(path), str(exc)))
        else:
            digest = content_hash(text)
            if digest in seen:
                report.duplicates += 1
            else:
                seen.add(digest)
                pending.append((shown(path.name)[:255], text, digest))
                if len(pending) >= INSERT_CHUNK:
                    flush()
        if progress is not None:
            progress(1)
    if pending:
        flush()
    return report
