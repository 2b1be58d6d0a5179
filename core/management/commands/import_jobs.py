"""Import job postings from a CSV, JSON or JSON Lines file."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.importing.jobs import UnreadableFile, import_jobs_file


class Command(BaseCommand):
    help = (
        "Import jobs from a .csv, .json or .jsonl file with external_id, title, company, location, description "
        "and skills; rows are matched to existing jobs by external_id."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        if not os.path.lexists(file):
            raise CommandError(f"no such file: {file}")
        try:
            report = import_jobs_file(file)
        except UnreadableFile as exc:
            raise CommandError(str(exc)) from exc
        for where, why in report.rejected:
            self.stdout.write(f"rejected {where}: {why}")
        self.stdout.write(
            f"jobs: {report.created} created, {report.updated} updated, {report.duplicates} duplicate, "
            f"{len(report.rejected)} rejected"
        )
        if report.read == 0:
            raise CommandError("no job could be read")
