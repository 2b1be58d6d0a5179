"""Report on or stop the embedded PostgreSQL server that serves the database when DATABASE_URL is unset."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recruit import embedded_db


class Command(BaseCommand):
    help = "Show whether the embedded PostgreSQL server runs (status) or stop it (stop)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args, action, **options):
        if settings.DATABASE_URL:
            raise CommandError("DATABASE_URL is set: the embedded server is not in use")
        datadir = settings.EMBEDDED_DB_DIR.resolve()
        if action == "stop":
            stopped = embedded_db.stop_server(datadir)
            self.stdout.write(f"stopped embedded PostgreSQL in {datadir}" if stopped else "not running")
            return
        info = embedded_db.read_running(datadir)
        if info is None:
            initialised = (datadir / "PG_VERSION").exists()
            self.stdout.write(
                f"not running (data directory {datadir} {'exists' if initialised else 'not initialised yet'}; "
                "it starts on the first connection)"
            )
            return
        self.stdout.write(f"running: pid {info.pid}, data {datadir}, socket {info.socket_dir}, port {info.port}")
        self.stdout.write(f"uri: {info.uri(settings.DATABASES['default']['NAME'])}")
