"""Run the match stage alone: rank active jobs for every CV whose predictions are missing or stale."""

from django.core.management.base import BaseCommand

from core.management.progress import progress_bar
from core.matching.batch_matcher import cvs_needing_match, match_pending_cvs


class Command(BaseCommand):
    help = "Match embedded CVs against active jobs with pgvector and store their top predictions."

    def handle(self, *args, **options):
        with progress_bar("Matching CVs", total=cvs_needing_match().count(), stream=self.stderr) as advance:
            report = match_pending_cvs(progress=advance)
        self.stdout.write(
            f"matched {report.cvs} CVs: {report.predictions} predictions written, {report.removed} stale removed"
        )
