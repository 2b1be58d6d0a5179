"""What distinguishes one batch kind from another, and nothing more.

The engine (submit, poll, ingest, retry) is shared; a kind says which rows are waiting, how one row
becomes a request body, and how successful response bodies are written back. The kinds themselves
live in ``core.stages``, one module each. Everything about
statuses, attempts and errors is described by ``WorkState`` so the engine can move rows between
pending, queued, done and failed without knowing what the row is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class WorkState:
    """The columns of a work row that hold one kind's progress, and the values they take."""

    status: str
    attempts: str
    error: str
    version: str  # the input version: raised by every change to what the request is built from
    pending: str
    queued: str
    done: str
    failed: str

    @classmethod
    def of(cls, stage: str, statuses, done: str) -> WorkState:
        """The columns ``<stage>_status``, ``_attempts``, ``_error`` and ``_version``, and the statuses'
        pending, queued and failed members (every status enum names those alike; done differs)."""
        return cls(
            status=f"{stage}_status",
            attempts=f"{stage}_attempts",
            error=f"{stage}_error",
            version=f"{stage}_version",
            pending=statuses.PENDING,
            queued=statuses.QUEUED,
            done=done,
            failed=statuses.FAILED,
        )


@dataclass(frozen=True)
class Result:
    """A successful response for one queued row, built from the row's input ``version``."""

    row_id: int
    custom_id: str
    body: dict
    version: int


class BatchKindSpec(ABC):
    kind: str  # a core.models.BatchKind value
    label: str  # what the stage does, for progress bars and the dashboard: "parse CVs"
    endpoint: str  # the Batch API endpoint every request of this kind goes to
    item_field: str  # the BatchItem foreign key naming the row: "cv", "job" or "prediction"
    model: type[models.Model]
    state: WorkState
    after_matching: bool = False  # works on predictions, so it runs once CVs are matched

    def scope(self) -> models.QuerySet:
        """Every row this stage is meant to reach, whatever its status: the total of its progress."""
        return self.model.objects.all()

    @abstractmethod
    def model_name(self) -> str:
        """The model every request of the batch uses (one model per batch file)."""

    @abstractmethod
    def pending(self) -> models.QuerySet:
        """Rows ready to be submitted, in submission order."""

    @abstractmethod
    def custom_id(self, row) -> str: ...

    @abstractmethod
    def build_body(self, row) -> dict: ...

    @abstractmethod
    def read_result(self, body: dict) -> tuple[object, str | None]:
        """(value, None) for a usable response body, or (None, why not): invalid JSON, a refusal, a
        vector of the wrong size... The engine fails or retries the rows whose answer was unusable."""

    @abstractmethod
    def store(self, values: dict[int, tuple[int, object]]) -> set[int]:
        """Write the usable values, ``{row id: (input version, value)}``, marking those rows done in the
        same statement, but only rows still queued at that input version: a row edited or reset since
        its request was built keeps its new state. Returns the ids of the rows written."""

    def apply(self, results: list[Result]) -> tuple[set[int], dict[int, str]]:
        """Store what is usable: (the rows written, the unusable rows mapped to the reason). A usable
        result in neither was superseded: its row had changed."""
        rejected: dict[int, str] = {}
        usable: dict[int, tuple[int, object]] = {}
        for result in results:
            value, reason = self.read_result(result.body)
            if reason is None:
                usable[result.row_id] = (result.version, value)
            else:
                rejected[result.row_id] = reason
        return (self.store(usable) if usable else set()), rejected
