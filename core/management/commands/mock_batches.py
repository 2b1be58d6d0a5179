"""`manage.py mock_batches list | show ID | clean [--older-than DAYS] [--dry-run]`: the mock's own storage.

It reads MOCK_BATCH_DIR through the mock engine and never the database, so it answers "what does the
provider hold?" even when the database is gone or belongs to another checkout. Listing and showing do
not advance a batch (inspecting must not run it): they show it as last observed by a retrieve.
"""

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.management.batch_commands import format_table, one_line, positive_float, positive_int, when
from core.mock_openai.config import engine_from_settings
from core.mock_openai.engine.errors import MockAPIError
from core.mock_openai.engine.housekeeping import batch_detail, clean

DAY = 24 * 3600
DEFAULT_CLEAN_DAYS = 7.0
PAGE = 100  # the most the Batch API lists per page


class Command(BaseCommand):
    help = (
        "Inspect or tidy the mock Batch API's storage (MOCK_BATCH_DIR), without the database. "
        "list: batches, newest first. show ID: one batch's JSON and its files. clean: delete finished "
        f"batches older than --older-than days (default {DEFAULT_CLEAN_DAYS:g}) with their files; batches "
        "still in progress and the files they use are always kept."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,show,clean}")
        listing = actions.add_parser("list", help="the batches, newest first, as last observed")
        listing.add_argument("--limit", type=positive_int, default=50, help="how many (default 50)")
        show = actions.add_parser("show", help="one batch's JSON and its input, output and error files")
        show.add_argument("batch_id", help="a mock batch id (batch_...)")
        clean = actions.add_parser(
            "clean",
            help="delete finished batches and files older than --older-than days",
            description=(
                "Delete batches that finished more than DAYS days ago, with their input, output and error "
                "files, files no kept batch uses, and crash leftovers older than DAYS. A batch still in "
                "progress, and every file it uses, is never deleted. A finished batch the app has not "
                "ingested yet loses its results: run `poll_batches` first."
            ),
        )
        clean.add_argument(
            "--older-than",
            type=positive_float,
            default=DEFAULT_CLEAN_DAYS,
            metavar="DAYS",
            help=f"age in days, fractions allowed (default {DEFAULT_CLEAN_DAYS:g})",
        )
        clean.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")

    def handle(self, *args, action, **options):
        try:
            engine = engine_from_settings()
            if action == "list":
                self._list(engine, options["limit"])
            elif action == "show":
                self._show(engine, options["batch_id"])
            else:
                self._clean(engine, options["older_than"], options["dry_run"], options["verbosity"])
        except MockAPIError as exc:  # an unknown or malformed batch id: the API's own 404 message
            raise CommandError(one_line(exc.message)) from exc
        except (OSError, orjson.JSONDecodeError) as exc:  # a root that is not a directory, a record cut short
            raise CommandError(f"cannot read the mock storage at {settings.MOCK_BATCH_DIR}: {one_line(exc)}") from exc

    def _list(self, engine, limit: int) -> None:
        batches, after, more = [], None, True
        while more and len(batches) < limit:
            page = engine.batches.list(after=after, limit=min(PAGE, limit - len(batches)))
            batches += page["data"]
            after, more = page["last_id"], page["has_more"]
        if not batches:
            self.stdout.write(f"no mock batches under {settings.MOCK_BATCH_DIR}")
            return
        rows = [
            (
                batch["id"],
                batch["status"],
                batch["endpoint"],
                "{completed}/{failed}/{total}".format(**batch["request_counts"]),
                when(batch["created_at"]),
            )
            for batch in batches
        ]
        for line in format_table(("ID", "STATUS", "ENDPOINT", "DONE/FAILED/TOTAL", "CREATED"), rows):
            self.stdout.write(line)
        if more:
            self.stdout.write(f"(more batches: use --limit above {limit})")

    def _show(self, engine, batch_id: str) -> None:
        detail = batch_detail(engine, batch_id)
        self.stdout.write(orjson.dumps(detail["batch"], option=orjson.OPT_INDENT_2).decode())
        self.stdout.write("files:")
        for entry in detail["files"]:
            file_object = entry["file"]
            if file_object is None:
                self.stdout.write(f"  {entry['role']:<6}  {entry['id']}  (deleted)")
                continue
            self.stdout.write(
                f"  {entry['role']:<6}  {entry['id']}  {file_object['filename']}  {file_object['bytes']:,} bytes  "
                f"created {when(file_object['created_at'])}"
            )
            for path in entry["paths"]:
                self.stdout.write(f"          {path}")

    def _clean(self, engine, days: float, dry_run: bool, verbosity: int) -> None:
        report = clean(engine, days * DAY, dry_run=dry_run)
        if verbosity >= 2:
            for batch_id in report.batches:
                self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {batch_id}")
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {len(report.batches)} batch(es), {len(report.files)} file(s) and {report.stray_paths} "
            f"leftover(s) older than {days:g} day(s) ({report.bytes:,} bytes); "
            f"kept {report.in_progress} batch(es) still in progress"
        )
