"""`manage.py retry_failed [--kind KIND]`: give rows that used up their attempts a fresh set.

Rows fail for good after MAX_ATTEMPTS retryable failures or one failure that retrying cannot fix; once
the cause is dealt with (a quota raised, a prompt corrected), this sends them back to pending, and the
next submit (run_pipeline, or the worker's schedule) batches them again.
"""

from django.core.management.base import BaseCommand

from core.models import BatchKind
from core.operations.rows import retry_failed_rows


class Command(BaseCommand):
    help = (
        "Move rows whose batch work failed for good back to pending with their attempts reset, for every kind "
        "or only --kind. The next submit (run_pipeline or the Celery worker) sends them again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=BatchKind.values, help="only this kind of work")

    def handle(self, *args, kind, **options):
        moved = retry_failed_rows(kind)
        for name, count in moved.items():
            self.stdout.write(f"{name}: {count} row(s) back to pending")
        total = sum(moved.values())
        if total:
            self.stdout.write(f"{total} row(s) to retry: the next submit (run_pipeline or the worker) sends them")
        else:
            self.stdout.write("nothing to retry: no row has failed for good")
