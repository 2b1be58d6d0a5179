"""`manage.py poll_batches [--once | --wait]`: ask the provider about every open batch and ingest the finished.

The Celery beat schedule does this every CELERY_POLL_INTERVAL seconds; the command is for operators and
cron-style set-ups without a worker, and for waiting on a run from a terminal (``--wait``).
"""

from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError

from core.batches.ingest import IngestReport
from core.management.batch_commands import batch_service, positive_float
from core.management.progress import settling_bar
from core.management.reporting import ingested_line
from core.models import BatchJob
from core.selectors.batches import open_batches
from core.workflow.polling import PollRound, StillOpen, poll_round, poll_until_closed


@dataclass
class PollTally:
    """Totals over every round of one command run."""

    rounds: int = 0
    seen: set[int] = field(default_factory=set)  # batches open at some round: grows with new submissions
    polled: set[int] = field(default_factory=set)  # batches the provider answered for, in any round
    ingested: IngestReport = field(default_factory=IngestReport)
    batches_ingested: int = 0
    unreachable: dict[int, str] = field(default_factory=dict)  # of the last round

    def add(self, poll: PollRound) -> None:
        self.rounds += 1
        self.seen |= poll.was_open | poll.still_open
        self.polled |= poll.answered
        self.unreachable = poll.unreachable
        for _, report in poll.ingested:
            self.batches_ingested += 1
            for name in ("succeeded", "failed", "not_run", "retried", "given_up"):
                setattr(self.ingested, name, getattr(self.ingested, name) + getattr(report, name))


class Command(BaseCommand):
    help = (
        "Poll every batch not yet ingested at the provider and ingest those that finished. --once (the "
        "default) polls each open batch once; --wait polls again, as soon as a batch can have finished, until "
        "no batch is open. "
        "Exits 1 when a batch could not be polled (--once) or when --timeout passes first (--wait)."
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="poll each open batch once (the default)")
        mode.add_argument("--wait", action="store_true", help="poll again until no batch is open")
        parser.add_argument(
            "--interval",
            type=positive_float,
            default=300.0,
            help="with --wait, the longest pause between rounds (default 300 s); each round comes as soon as a "
            "batch can have finished: the mock's latency after submission, or a tenth of an OpenAI batch's age",
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
            poll = poll_round(service)
            self._show(poll, tally)
            for batch in open_batches().filter(pk__in=poll.answered).order_by("created_at"):
                self.stdout.write(self._open_line(batch))
        self._summary(tally)
        if tally.unreachable and not wait:
            raise CommandError(
                f"{len(tally.unreachable)} batch(es) could not be polled ({', '.join(tally.unreachable.values())}); "
                "see the event=poll_failed log lines"
            )

    def _show(self, poll: PollRound, tally: PollTally) -> None:
        tally.add(poll)
        for batch, report in poll.ingested:
            self.stdout.write(ingested_line(batch, report))

    @staticmethod
    def _open_line(batch: BatchJob) -> str:
        # The provider counts requests only once validated: until then its total is 0, so say nothing.
        progress = f", {batch.completed} completed and {batch.failed} failed of {batch.total}" if batch.total else ""
        return f"{batch.kind} {batch.provider_batch_id}: {batch.status}{progress}"

    def _wait(self, service, tally: PollTally, interval: float, timeout: float | None) -> None:
        with settling_bar("Waiting for batches", self.stderr) as update:

            def on_round(poll: PollRound) -> None:
                self._show(poll, tally)
                update(len(tally.seen - poll.still_open), len(tally.seen))

            try:
                poll_until_closed(service, interval, timeout, on_round)
            except StillOpen as exc:
                self._summary(tally)
                raise CommandError(str(exc)) from None
            except KeyboardInterrupt:
                self._summary(tally)
                raise CommandError(f"interrupted: {open_batches().count()} batch(es) still open") from None

    def _summary(self, tally: PollTally) -> None:
        still_open = open_batches().count()
        rounds = f" in {tally.rounds} round(s)" if tally.rounds > 1 else ""
        self.stdout.write(
            f"polled {len(tally.polled)} batch(es){rounds}: {tally.batches_ingested} ingested, {still_open} still open"
            + (f", {len(tally.unreachable)} could not be polled" if tally.unreachable else "")
        )
        if tally.batches_ingested:
            totals = tally.ingested
            self.stdout.write(
                f"requests: {totals.succeeded} succeeded, {totals.failed} failed, {totals.not_run} not run; "
                f"rows: {totals.retried} to retry, {totals.given_up} given up"
            )
