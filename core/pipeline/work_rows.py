"""Moving work rows back to pending or to failed after a request did not succeed."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from core.pipeline.kinds import BatchKindSpec


@dataclass(frozen=True)
class Outcome:
    row_id: int
    outcome: str  # "failed": the request ran and did not give a usable result; "not_run": it never ran
    message: str
    retryable: bool


@dataclass
class Settled:
    retried: int = 0
    given_up: int = 0
    returned: int = 0  # not run: back to pending without using up an attempt


def settle_rows(spec: BatchKindSpec, outcomes: list[Outcome]) -> Settled:
    """Within the caller's transaction: retry, give up on, or return each row that did not succeed.

    A request that never ran gives its attempt back. A failed one is retried until MAX_ATTEMPTS, unless
    the failure says the request itself is wrong (a 400): then retrying cannot help.
    """
    settled = Settled()
    if not outcomes:
        return settled
    state = spec.state
    by_row = {outcome.row_id: outcome for outcome in outcomes}
    rows = list(
        spec.model.objects.select_for_update()
        .filter(pk__in=by_row, **{state.status: state.queued})
        .only("pk", state.attempts)
    )
    for row in rows:
        outcome = by_row[row.pk]
        attempts = getattr(row, state.attempts)
        if outcome.outcome == "not_run":
            setattr(row, state.attempts, max(attempts - 1, 0))
            setattr(row, state.status, state.pending)
            settled.returned += 1
        elif outcome.retryable and attempts < settings.MAX_ATTEMPTS:
            setattr(row, state.status, state.pending)
            settled.retried += 1
        else:
            setattr(row, state.status, state.failed)
            settled.given_up += 1
        setattr(row, state.error, outcome.message)
    spec.model.objects.bulk_update(rows, [state.status, state.attempts, state.error], batch_size=1000)
    return settled
