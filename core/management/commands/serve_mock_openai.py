"""`python manage.py serve_mock_openai --port 8765`: only the mock OpenAI Files + Batch API, for any
project in any language (see core.mock_openai.serving)."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from core.mock_openai.serving import base_url, make_mock_server, new_api_key


class Command(BaseCommand):
    help = "Serve only the mock OpenAI Files + Batch API (with its test controls) at http://HOST:PORT/v1."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed)")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--root", type=Path, default=None, help="where the mock keeps its files (default MOCK_OPENAI_HTTP_DIR)"
        )

    def handle(self, *args, port, host, root, **options):
        given_key = os.environ.get("MOCK_OPENAI_API_KEY")
        api_key = given_key or new_api_key()
        root = root or settings.MOCK_OPENAI_HTTP_DIR
        server = make_mock_server(host, port, root, api_key)
        self.stdout.write(f"OPENAI_BASE_URL={base_url(server)}")
        # A key made up for this server is shown (clients need it); one from the environment is not.
        self.stdout.write(f"OPENAI_API_KEY={'<your MOCK_OPENAI_API_KEY>' if given_key else api_key}")
        self.stdout.write(f"Mock OpenAI API serving files from {root}; Ctrl-C stops it.")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:  # Ctrl-C is how it is meant to stop
            self.stdout.write("Stopped.")
        finally:
            server.server_close()
