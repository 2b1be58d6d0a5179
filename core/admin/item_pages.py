"""A batch's items, failed first, paged without sorting the whole batch.

A batch holds up to 50,000 items. ORDER BY a status rank over all of them sorts the batch on every
page view, and PostgreSQL will not walk the (batch, status) index for ORDER BY status, id. But the
page's detail view already counts the items per status, so a page can be cut from those counts:
each status is read in id order with its own LIMIT/OFFSET (an index range), and a page touches at
most the few statuses it spans. ``Paginator`` accepts any object with ``count()`` and slicing.
"""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import ItemStatus

# What an operator opens a batch for comes first.
STATUS_ORDER = (ItemStatus.FAILED, ItemStatus.NOT_RUN, ItemStatus.SUPERSEDED, ItemStatus.QUEUED, ItemStatus.SUCCEEDED)


class FailedFirstItems:
    """The items of ``queryset`` in STATUS_ORDER, then id; ``counts`` is how many there are per status."""

    def __init__(self, queryset: QuerySet, counts: dict[str, int], statuses=STATUS_ORDER):
        self.queryset = queryset
        self.counts = [(status, counts.get(status, 0)) for status in statuses]

    def count(self) -> int:
        return sum(n for _status, n in self.counts)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list:
        if not isinstance(window, slice) or window.step not in (None, 1):
            raise TypeError("FailedFirstItems supports contiguous slices only")
        start, stop = window.start or 0, window.stop if window.stop is not None else self.count()
        rows: list = []
        offset = 0  # where the current status's items begin in the whole ordering
        for status, n in self.counts:
            low, high = max(start - offset, 0), min(stop - offset, n)
            if low < high:
                rows.extend(self.queryset.filter(status=status).order_by("pk")[low:high])
            offset += n
            if offset >= stop:
                break
        return rows
