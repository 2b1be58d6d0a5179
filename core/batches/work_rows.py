"""Moving work rows back to pending or to failed after a request did not succeed."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from core.batches.bulk_sql import update_by_id
from core.batches.kinds import BatchKindSpec


@dataclass(frozen=True)
class Outcome:
    row_id: int
    version: int  # the row's input version the request was built from
    outcome: str  # "failed": the request ran and did not give a usable result; "not_run": it never ran
    message: str
    retryable: bool


@dataclass
class Settled:
    retried: int = 0
    given_up: int = 0
    returned: int = 0  # not run: back to pending without using up an attempt
    superseded: int = 0  # the row changed since the request was built: left as it is


def settle_rows(spec: BatchKindSpec, outcomes: list[Outcome]) -> Settled:
    """Within the caller's transaction: retry, give up on, or return each row that did not succeed.

    A request that never ran gives its attempt back. A failed one is retried until MAX_ATTEMPTS, unless
    the failure says the request itself is wrong (a 400): then retrying cannot help. A row no longer
    queued at the version the request was built from was edited or reset since: it is not touched.
    """
    settled = Settled()
    if not outcomes:
        return settled
    state = spec.state
    by_row = {outcome.row_id: outcome for outcome in outcomes}
    rows = list(
        spec.model.objects.select_for_update()
        .filter(pk__in=by_row, **{state.status: state.queued})
        .values_list("pk", state.attempts, state.version)
    )
    updates = []
    for pk, attempts, version in rows:
        outcome = by_row[pk]
        if version != outcome.version:
            continue
        if outcome.outcome == "not_run":
            attempts, status = max(attempts - 1, 0), state.pending
            settled.returned += 1
        elif outcome.retryable and attempts < settings.MAX_ATTEMPTS:
            status = state.pending
            settled.retried += 1
        else:
            status = state.failed
            settled.given_up += 1
        updates.append((pk, status, attempts, outcome.message))
    update_by_id(
        spec.model._meta.db_table,
        {state.status: "text", state.attempts: "smallint", state.error: "text"},
        updates,
        extra_set="updated_at = now()",
    )
    settled.superseded = len(outcomes) - len(updates)
    return settled
