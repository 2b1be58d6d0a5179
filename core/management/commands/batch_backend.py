"""`python manage.py batch_backend`: which Batch API backend is active (never the API key)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.services.batch_service import describe_backend, mock_backend_selected


class Command(BaseCommand):
    help = "Print which Batch API backend (mock or openai) BatchService uses, and where it points."

    def handle(self, *args, **options):
        self.stdout.write(f"Batch API backend: {describe_backend()}")
        if mock_backend_selected():
            self.stdout.write(
                f"Mock settings: failure rate {settings.MOCK_BATCH_FAILURE_RATE}, seed {settings.MOCK_BATCH_SEED}, "
                f"latency {settings.MOCK_BATCH_LATENCY}s, expire {settings.MOCK_BATCH_EXPIRE}, "
                f"enqueued-token limit {settings.MOCK_BATCH_ENQUEUED_TOKEN_LIMIT or 'off'}"
            )
        self.stdout.write(f"Mock HTTP API at /mock-openai/v1/: {'on' if settings.MOCK_OPENAI_API else 'off'}")
