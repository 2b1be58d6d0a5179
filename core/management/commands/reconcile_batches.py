"""`manage.py reconcile_batches [--grace SECONDS]`: cancel provider batches the database does not know.

The pipeline does this at the start of every run and every scheduled submission; the command is for an
operator who saw a submission crash, or who wants to check before a bill arrives.
"""

from django.core.management.base import BaseCommand

from core.batches.reconcile import reconcile
from core.management.batch_commands import batch_service, positive_float, provider_errors


class Command(BaseCommand):
    help = (
        "Cancel provider batches (and delete uploaded batch files) that carry our submission key but that no "
        "BatchJob records: what a crash between creating a batch and committing it leaves behind."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace",
            type=positive_float,
            default=None,
            help="leave alone what is younger than this many seconds (default RECONCILE_GRACE_SECONDS)",
        )

    def handle(self, *args, grace, **options):
        service = batch_service()
        with provider_errors("could not reconcile with the provider"):
            report = reconcile(service, grace_seconds=grace)
        for batch_id in report.cancelled:
            self.stdout.write(f"cancelled orphaned batch {batch_id}")
        for file_id in report.files_deleted:
            self.stdout.write(f"deleted orphaned file {file_id}")
        self.stdout.write(report.describe())
