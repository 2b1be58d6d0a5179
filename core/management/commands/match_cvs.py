"""Run the match stage alone: rank active jobs for every CV whose predictions are missing or stale.

Unlike the workflow, which defers matching while job embeddings are outstanding, an operator asking
for it gets it now, with a warning that those jobs will send the CVs to be matched again.
"""

from django.core.management.base import BaseCommand

from core.management.batch_commands import positive_int
from core.management.progress import progress_bar
from core.matching.matcher import cvs_needing_match, match_pending_cvs
from core.workflow.steps import job_embeddings_outstanding


class Command(BaseCommand):
    help = "Match embedded CVs against active jobs with pgvector and store their top predictions."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=None,
            help="database connections matching side by side (default: MATCH_WORKERS, 2: both cores of a "
            "2-core server)",
        )

    def handle(self, *args, workers, **options):
        if job_embeddings_outstanding():
            self.stderr.write(
                "warning: some active jobs are not embedded yet; once they are, these CVs are matched again"
            )
        with progress_bar("Matching CVs", total=cvs_needing_match().count(), stream=self.stderr) as advance:
            report = match_pending_cvs(progress=advance, workers=workers)
        self.stdout.write(
            f"matched {report.cvs} CVs: {report.predictions} predictions written, {report.removed} stale removed"
        )
