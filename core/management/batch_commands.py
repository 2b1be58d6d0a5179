"""What the batch commands share: naming a batch, reaching the provider, and plain-text tables.

Every failure an operator can cause or meet (an unknown id, a backend that is not configured, a provider
that refuses or cannot be reached) becomes a one-line ``CommandError``, which Django prints without a
traceback and turns into exit status 1.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import openai
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.utils import timezone

from core.models import BatchJob
from core.selectors.batches import find_batch
from core.services.batch_service import BatchService
from core.services.provider_errors import provider_error_message


def one_line(text: object) -> str:
    """Collapse whitespace so a message (an SDK error, a provider's text) fits on one line."""
    return " ".join(str(text).split())


def resolve_batch(identifier: str) -> BatchJob:
    batch = find_batch(identifier)
    if batch is None:
        raise CommandError(
            f"no batch {one_line(identifier)!r}: give a BatchJob id or a provider batch id (batch_...); "
            "see `manage.py batch_status` for recent ones"
        )
    return batch


def batch_service() -> BatchService:
    """The configured backend, or a one-line error saying what to set."""
    try:
        return BatchService()
    except ImproperlyConfigured as exc:
        raise CommandError(provider_error_message(exc)) from exc


@contextmanager
def provider_errors(action: str) -> Iterator[None]:
    """Turn what the SDK raises (refusal, unreachable host, timeout) into one line naming ``action``."""
    try:
        yield
    except openai.APIError as exc:
        raise CommandError(f"{action}: {provider_error_message(exc)}") from exc


def positive_float(value: str) -> float:
    """An argparse type: a bad number exits 2 with a one-line usage error, never a traceback."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} must be a positive number")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return number


def when(moment: datetime | int | float | None, missing: str = "-") -> str:
    """A datetime or Unix seconds in the project's time zone, to the second."""
    if moment is None:
        return missing
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, tz=UTC)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def shorten(text: str, width: int) -> str:
    text = one_line(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Left-aligned columns separated by two spaces: readable, and easy to cut or awk."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *cells]
    ]
