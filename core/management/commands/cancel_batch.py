"""`manage.py cancel_batch BATCH_ID`: stop a batch at the provider and return its unfinished work to pending.

Cancelling is asynchronous at OpenAI (``cancelling`` for up to ten minutes, then ``cancelled``); when the
provider has already finished cancelling, the batch is ingested at once so the requests that ran are kept
and the rest go back to pending. Otherwise `poll_batches` (or the worker) does that later.
"""

from django.core.management.base import BaseCommand, CommandError

from core.management.batch_commands import batch_service, provider_errors, resolve_batch
from core.management.reporting import ingested_line
from core.models import BatchStatus
from core.operations import batches as operations


class Command(BaseCommand):
    help = (
        "Cancel a batch in progress (BATCH_ID: our BatchJob id or the provider's batch_... id). Requests that "
        "already ran are kept; the others return to pending when the cancelled batch is ingested."
    )

    def add_arguments(self, parser):
        parser.add_argument("batch_id", help="a BatchJob id or a provider batch id (batch_...)")

    def handle(self, *args, batch_id, **options):
        batch = resolve_batch(batch_id)
        name = f"{batch.kind} {batch.provider_batch_id}"
        refusal = operations.refusal("cancel", batch)
        if batch.status == BatchStatus.CANCELLED:
            self.stdout.write(f"{name} is {refusal}")
            return
        if refusal is not None:
            raise CommandError(f"{name} {refusal}")
        service = batch_service()
        with provider_errors(f"could not cancel {name}"):
            batch = operations.cancel(batch, service)
        self.stdout.write(f"cancel requested: {name} is now {batch.status}")
        if not batch.is_terminal:
            self.stdout.write("its unfinished items return to pending once it is cancelled and ingested (poll_batches)")
            return
        with provider_errors(f"{name} is {batch.status} but could not be ingested; run poll_batches"):
            report = operations.poll_now(batch, service)
        if report is not None and not report.skipped:
            self.stdout.write(ingested_line(batch, report))
