"""`manage.py batch_status [BATCH_ID]`: recent batches as a table, or one batch in detail with its failed items.

It reads the database only (what the last poll recorded), so it is instant and works whatever the state of
the provider; `poll_batches` brings the records up to date.
"""

from django.core.management.base import BaseCommand

from core.management.batch_commands import format_table, positive_int, resolve_batch, shorten, when
from core.models import BatchJob, BatchKind, ItemStatus
from core.selectors.batches import failed_items, item_status_counts, recent_batches


class Command(BaseCommand):
    help = (
        "Without BATCH_ID: a table of the most recent batches. With BATCH_ID (our BatchJob id or the provider's "
        "batch_... id): that batch in detail, with its failed and not-run items. Reads the database as of the "
        "last poll."
    )

    def add_arguments(self, parser):
        parser.add_argument("batch_id", nargs="?", help="a BatchJob id or a provider batch id (batch_...)")
        parser.add_argument("--limit", type=positive_int, default=20, help="batches in the table (default 20)")
        parser.add_argument("--kind", choices=BatchKind.values, help="only batches of this kind")
        parser.add_argument("--open", dest="open_only", action="store_true", help="only batches not ingested yet")
        parser.add_argument(
            "--items", type=positive_int, default=20, help="failed items shown for one batch (default 20)"
        )

    def handle(self, *args, batch_id, limit, kind, open_only, items, **options):
        if batch_id is None:
            self._table(limit, kind, open_only)
        else:
            self._detail(resolve_batch(batch_id), items)

    def _table(self, limit: int, kind: str | None, open_only: bool) -> None:
        batches = list(recent_batches(limit, kind, open_only))
        if not batches:
            self.stdout.write("no batches yet" if kind is None and not open_only else "no batches match")
            return
        rows = [
            (
                batch.pk,
                batch.provider_batch_id,
                batch.kind,
                _status(batch),
                f"{batch.completed}/{batch.failed}/{batch.total}",
                when(batch.created_at),
                when(batch.ingested_at, "not yet"),
            )
            for batch in batches
        ]
        headers = ("ID", "PROVIDER ID", "KIND", "STATUS", "DONE/FAILED/TOTAL", "CREATED", "INGESTED")
        for line in format_table(headers, rows):
            self.stdout.write(line)

    def _detail(self, batch: BatchJob, shown: int) -> None:
        counts = item_status_counts(batch)
        tokens = f"{batch.estimated_input_tokens:,} input estimated"
        if batch.input_tokens is not None or batch.output_tokens is not None:
            tokens += f"; {batch.input_tokens or 0:,} input and {batch.output_tokens or 0:,} output reported"
        fields = [
            ("batch", f"{batch.pk} ({batch.provider_batch_id})"),
            ("kind", f"{batch.kind} ({batch.get_kind_display()})"),
            ("backend", batch.backend),
            ("endpoint", batch.endpoint),
            ("model", batch.model),
            ("status", batch.status),
            ("requests", f"{batch.total} total, {batch.completed} completed, {batch.failed} failed (provider)"),
            ("items", ", ".join(f"{count} {ItemStatus(status).label.lower()}" for status, count in counts.items())),
            ("input file", batch.input_file_id),
            ("output file", batch.output_file_id or "-"),
            ("error file", batch.error_file_id or "-"),
            ("created", when(batch.created_at)),
            ("submitted", when(batch.submitted_at)),
            ("finished", when(batch.completed_at, "not yet")),
            ("last polled", when(batch.last_polled_at, "never")),
            ("ingested", when(batch.ingested_at, "not yet")),
            *([("lost", f"{when(batch.lost_at)}: the provider no longer has it")] if batch.lost_at else []),
            *(
                [("poll error", f"{shorten(batch.poll_error, 160)} ({batch.poll_failures} in a row; "
                                f"next try {when(batch.next_poll_at, 'now')})")]
                if batch.poll_error
                else []
            ),
            ("tokens", tokens),
            ("cost", f"${batch.estimated_cost:.6f} at Batch API prices"),
        ]
        for name, value in fields:
            self.stdout.write(f"{name + ':':<13}{value}")
        for error in batch.errors or []:
            where = f" (line {error['line']})" if error.get("line") else ""
            self.stdout.write(f"provider error: {error.get('code')}: {shorten(error.get('message') or '', 160)}{where}")

        unsettled = counts["failed"] + counts["not_run"]
        if not unsettled:
            self.stdout.write("no failed or not-run items")
            return
        rows = [
            (item.custom_id, item.status, item.attempt, item.error_code, shorten(item.error_message, 100))
            for item in failed_items(batch, shown)
        ]
        self.stdout.write(f"\nfailed and not-run items ({len(rows)} of {unsettled}):")
        for line in format_table(("CUSTOM ID", "STATUS", "ATTEMPT", "CODE", "MESSAGE"), rows):
            self.stdout.write("  " + line)


def _status(batch: BatchJob) -> str:
    if batch.lost_at:
        return f"{batch.status} (lost)"
    failures = batch.poll_failures
    return f"{batch.status} ({failures} poll error{'s' if failures != 1 else ''})" if failures else batch.status
