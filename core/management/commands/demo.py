"""The main job: bundled sample CVs and jobs through the whole pipeline on the mock Batch API."""

import logging
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db.models import Prefetch

from core.importing.cvs import import_cv_files
from core.importing.jobs import import_jobs_file
from core.management.reporting import run_pipeline_shown, summary_lines
from core.models import CV, BatchJob, Prediction
from core.selectors.batches import summarize_batches
from core.services.batch_service import BatchService

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


class Command(BaseCommand):
    help = (
        "Load the bundled sample CVs and jobs, run parse -> embed -> match -> explain on the mock Batch API, "
        "and print each sample CV's top matches and what the batches cost."
    )

    def add_arguments(self, parser):
        parser.add_argument("--show", type=int, default=5, help="how many CVs to print matches for (default 5)")

    def handle(self, *args, show, verbosity, **options):
        if verbosity < 2:
            # The demo narrates each batch itself; the per-event log lines are for workers (-v 2 shows them).
            for name in ("recruit.batches", "core.services", "core.mock_openai", "core.matching", "core.workflow"):
                logging.getLogger(name).setLevel(logging.WARNING)
        call_command("migrate", interactive=False, verbosity=0)
        db = settings.DATABASES["default"]
        where = "embedded PostgreSQL in " + str(db["EMBEDDED_DIR"]) if "EMBEDDED_DIR" in db else "DATABASE_URL"
        self.stdout.write(f"database: {where} (migrated)")

        cvs = import_cv_files([SAMPLE_DATA / "cvs"])
        jobs = import_jobs_file(SAMPLE_DATA / "jobs.jsonl")
        self.stdout.write(
            f"sample data: {cvs.created} CVs created ({cvs.duplicates} already loaded), "
            f"{jobs.created} jobs created ({jobs.duplicates + jobs.updated} already loaded)"
        )

        service = BatchService(use_mock=True)
        self.stdout.write(f"batch backend: {service.backend} (files under {settings.MOCK_BATCH_DIR})\n")
        latest = BatchJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

        run_pipeline_shown(self, service, indent="  ", wait=True, poll_interval=1.0)
        self._print_matches(show)
        this_run = BatchJob.objects.filter(pk__gt=latest)
        scope = "this run" if this_run.exists() else "nothing new to do; all batches so far"
        self.stdout.write(f"\nBatch summary ({scope})")
        for line in summary_lines(summarize_batches(this_run if this_run.exists() else BatchJob.objects.all())):
            self.stdout.write("  " + line)

    def _print_matches(self, show: int) -> None:
        top = Prediction.objects.filter(rank__lte=3).select_related("job").order_by("rank")
        sample_cvs = (
            CV.objects.filter(predictions__isnull=False)
            .distinct()
            .order_by("source_name")
            .prefetch_related(Prefetch("predictions", queryset=top, to_attr="top_predictions"))[:show]
        )
        for cv in sample_cvs:
            label = ((cv.parsed or {}).get("basics") or {}).get("label") or ""
            self.stdout.write(f"\n{cv.display_name}" + (f" - {label}" if label else "") + f"  [{cv.source_name}]")
            for prediction in cv.top_predictions:
                self.stdout.write(f"  {prediction.rank}. {prediction.job} (score {prediction.score:.3f})")
                explanation = prediction.explanation or f"(no explanation: {prediction.explanation_status})"
                self.stdout.write(f"     {explanation}")
