"""The organisation's queue at the provider: what our batches in flight leave of it, and when to wait.

OpenAI's enqueued-token limit (and the enqueued-request limit of embeddings) counts every batch in
flight for a model, not one batch. A batch that finds the queue full fails validation with
``token_limit_exceeded`` (or ``request_limit_exceeded``) before running anything, so its rows did not
run: they go back to pending with their attempt given back (core.batches.ingest), and submitting the
same work again at once would only fail again. So submission for that model waits until one of our
earlier batches in flight for it has ended, or, when none is (the queue is full of someone else's
batches), for ``QUEUE_FULL_RETRY_SECONDS``. And each batch is cut to what our batches in flight leave
of ``BATCH_ENQUEUED_TOKEN_BUDGET``, so that we do not fill the queue ourselves.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from core.models import BatchJob, BatchStatus

QUEUE_FULL_CODES = frozenset({"token_limit_exceeded", "request_limit_exceeded"})
IN_FLIGHT = (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING)


# OpenAI's message names the limit: "... Limit: 90,000 enqueued tokens. Please try again once ..."
_LIMIT_RE = re.compile(r"Limit: ([\d,]+) enqueued (tokens|requests)")


def failed_for_a_full_queue(batch: BatchJob) -> bool:
    """A batch refused only because the organisation's queue for its model was full, and which an empty
    queue would take. One larger than the limit by itself is refused the same way, but waiting cannot
    help it: that is an ordinary failed batch, whose attempts count (else it would be sent forever)."""
    entries = [entry for entry in batch.errors or [] if isinstance(entry, dict)]
    codes = {entry.get("code") for entry in entries}
    if batch.status != BatchStatus.FAILED or not codes or not codes <= QUEUE_FULL_CODES:
        return False
    for entry in entries:
        if found := _LIMIT_RE.search(str(entry.get("message") or "")):
            limit = int(found.group(1).replace(",", ""))
            size = batch.estimated_input_tokens if found.group(2) == "tokens" else batch.total
            if size is not None and size > limit:
                return False
    return True


def in_flight(model: str):
    return BatchJob.objects.filter(model=model, status__in=IN_FLIGHT, ingested_at__isnull=True)


def queue_full_wait(model: str) -> str | None:
    """Why submitting work for ``model`` must wait, or None when it may go ahead."""
    latest = BatchJob.objects.filter(model=model).order_by("-pk").first()
    if latest is None or not failed_for_a_full_queue(latest):
        return None
    if in_flight(model).filter(pk__lt=latest.pk).exists():
        return f"the queue for {model} was full: waiting for one of our batches in flight to end"
    if latest.ingested_at is None:
        return None  # its rows are still queued: there is nothing to submit again yet
    if BatchJob.objects.filter(model=model, pk__lt=latest.pk, ingested_at__gte=latest.ingested_at).exists():
        return None  # one of ours ended since: it made room
    retry_at = latest.ingested_at + timedelta(seconds=settings.QUEUE_FULL_RETRY_SECONDS)
    if timezone.now() < retry_at:
        return f"the queue for {model} was full: trying again at {retry_at:%H:%M:%S} UTC"
    return None


def tokens_in_flight(model: str) -> int:
    """Input tokens our batches in flight for ``model`` hold in the organisation's queue."""
    return in_flight(model).aggregate(tokens=Sum("estimated_input_tokens"))["tokens"] or 0
