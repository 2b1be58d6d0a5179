"""`manage.py poll_batches [--once | --wait]`: ask the provider about every open batch and ingest the finished.

The Celery beat schedule does this every CELERY_POLL_INTERVAL seconds; the command is for operators and
cron-style set-ups without a worker, and for waiting on a run from a terminal (``--wait``).
"""

import time
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError

from core.management.batch_commands import batch_service, positive_float
from core.management.progress import settling_bar
from core.management.reporting import describe_event
from core.models import BatchJob
from core.pipeline.poll import poll_open_batches
from core.pipeline.runner import PipelineEvent
from core.pipeline.selectors import open_batches


@dataclass
class PollTally:
    """Totals over every round of one command run."""

    rounds: int = 0
    polled: set[int] = field(default_factory=set)  # batches the provider answered for, in any round
    ingested: int = 0
    succeeded: int = 0
    failed: int = 0
    not_run: int = 0
    retried: int = 0
    given_up: int = 0
    unreachable: dict[int, str] = field(default_factory=dict)  # pk -> provider id, of the last round


class Command(BaseCommand):
    help = (
        "Poll every batch not yet ingested at the provider and ingest those that finished. --once (the "
        "default) polls each open batch once; --wait polls every --interval seconds until no batch is open. "
        "Exits 1 when a batch could not be polled (--once) or when --timeout passes first (--wait)."
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="poll each open batch once (the default)")
        mode.add_argument("--wait", action="store_true", help="poll again until no batch is open")
        parser.add_argument(
            "--interval", type=positive_float, default=10.0, help="seconds between rounds with --wait (default 10)"
        )
        parser.add_argument(
            "--timeout", type=positive_float, default=None, help="with --wait: give up after this many seconds"
        )

    def handle(self, *args, wait, interval, timeout, **options):
        if timeout is not None and not wait:
            raise CommandError("--timeout only applies with --wait")
        service = batch_service()
        tally = PollTally()
        if wait:
            self._wait(service, tally, interval, timeout)
        else:
            self._round(service, tally, report_open=True)
        self._summary(tally)
        if tally.unreachable and not wait:
            raise CommandError(
                f"{len(tally.unreachable)} batch(es) could not be polled ({', '.join(tally.unreachable.values())}); "
                "see the event=poll_failed log lines"
            )

    def _round(self, service, tally: PollTally, report_open: bool) -> None:
        """One pass over the open batches; prints each batch ingested (and, if asked, each still open)."""
        before = set(open_batches().values_list("pk", flat=True))
        results = poll_open_batches(service)
        tally.rounds += 1
        answered = set()
        for batch, report in results:
            answered.add(batch.pk)
            if report is not None and not report.skipped:
                tally.ingested += 1
                tally.succeeded += report.succeeded
                tally.failed += report.failed
                tally.not_run += report.not_run
                tally.retried += report.retried
                tally.given_up += report.given_up
                event = PipelineEvent("ingest", batch.kind, {"batch": batch.provider_batch_id, "report": report})
                self.stdout.write(describe_event(event))
        # poll_open_batches logs a batch the provider could not answer for and goes on; name those here.
        tally.polled |= answered
        tally.unreachable = dict(open_batches().filter(pk__in=before - answered).values_list("pk", "provider_batch_id"))
        if report_open:
            for batch in open_batches().filter(pk__in=answered).order_by("created_at"):
                self.stdout.write(self._open_line(batch))

    @staticmethod
    def _open_line(batch: BatchJob) -> str:
        # The provider counts requests only once validated: until then its total is 0, so say nothing.
        progress = f", {batch.completed} completed and {batch.failed} failed of {batch.total}" if batch.total else ""
        return f"{batch.kind} {batch.provider_batch_id}: {batch.status}{progress}"

    def _wait(self, service, tally: PollTally, interval: float, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: set[int] = set()  # every batch open at some round: the bar's total grows with new submissions
        try:
            with settling_bar("Waiting for batches", self.stderr) as update:
                while True:
                    seen.update(_open_pks())
                    self._round(service, tally, report_open=False)
                    still_open = _open_pks()
                    seen.update(still_open)
                    update(len(seen - still_open), len(seen))
                    if not still_open:
                        return
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        self._summary(tally)
                        raise CommandError(f"gave up after {timeout:g}s: {len(still_open)} batch(es) still open")
                    time.sleep(interval if left is None else min(interval, left))
        except KeyboardInterrupt:
            self._summary(tally)
            raise CommandError(f"interrupted: {open_batches().count()} batch(es) still open") from None

    def _summary(self, tally: PollTally) -> None:
        still_open = open_batches().count()
        rounds = f" in {tally.rounds} round(s)" if tally.rounds > 1 else ""
        self.stdout.write(
            f"polled {len(tally.polled)} batch(es){rounds}: {tally.ingested} ingested, {still_open} still open"
            + (f", {len(tally.unreachable)} could not be polled" if tally.unreachable else "")
        )
        if tally.ingested:
            self.stdout.write(
                f"requests: {tally.succeeded} succeeded, {tally.failed} failed, {tally.not_run} not run; "
                f"rows: {tally.retried} to retry, {tally.given_up} given up"
            )


def _open_pks() -> set[int]:
    return set(open_batches().values_list("pk", flat=True))
