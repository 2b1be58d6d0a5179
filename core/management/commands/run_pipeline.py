"""Run parse -> embed -> match -> explain in this process until nothing is pending."""

from django.core.management.base import BaseCommand

from core.management.batch_commands import batch_service, positive_float, provider_errors
from core.management.reporting import run_pipeline_shown, summary_lines
from core.models import BatchJob
from core.selectors.batches import open_batches, summarize_batches


class Command(BaseCommand):
    help = (
        "Submit pending work, poll and ingest batches, match CVs and request explanations until nothing is "
        "pending. Without --wait it stops when only batches still in flight remain."
    )

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="wait for batches in flight instead of stopping")
        parser.add_argument(
            "--poll-interval",
            type=positive_float,
            default=300.0,
            help="with --wait, the longest pause between polls (default 300 s); each poll comes as soon as a "
            "batch can have finished: the mock's latency after submission, or a tenth of an OpenAI batch's age",
        )

    def handle(self, *args, wait, poll_interval, **options):
        service = batch_service()
        self.stdout.write(f"batch backend: {service.backend}")
        latest = BatchJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

        with provider_errors("running the pipeline"):
            result = run_pipeline_shown(self, service, wait=wait, poll_interval=poll_interval)
        for line in summary_lines(summarize_batches(BatchJob.objects.filter(pk__gt=latest))):
            self.stdout.write(line)
        if not result.finished:
            self.stdout.write(
                f"stopped with {open_batches().count()} batch(es) in flight; run again later or use --wait"
            )
