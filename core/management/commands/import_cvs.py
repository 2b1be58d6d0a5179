"""Import CV files (.txt, .md, .pdf) or folders of them."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.importing.cvs import expand_paths, import_cv_files
from core.management.progress import progress_bar


class Command(BaseCommand):
    help = "Import CVs from .txt, .md and .pdf files; a folder imports every such file in it."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders")

    def handle(self, *args, paths, **options):
        missing = [str(path) for path in paths if not os.path.lexists(path)]
        if missing:
            raise CommandError(f"no such file or folder: {', '.join(missing)}")
        files = list(expand_paths(paths))
        with progress_bar("Importing CVs", total=len(files), stream=self.stderr) as advance:
            report = import_cv_files(files, progress=advance)
        for where, why in report.rejected:
            self.stdout.write(f"rejected {where}: {why}")
        self.stdout.write(
            f"CVs: {report.created} created, {report.duplicates} duplicate, {len(report.rejected)} rejected"
        )
        if report.read == 0:
            raise CommandError("no CV could be read")
