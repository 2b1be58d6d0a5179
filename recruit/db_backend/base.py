"""PostgreSQL backend that starts the embedded server on the first connection.

Settings stay free of side effects: importing them never starts a server. The first connection a
process opens calls ``ensure_server``, which reuses a server another process already started.
"""

from pathlib import Path

from django.db.backends.postgresql import base
from django.db.backends.postgresql.client import DatabaseClient as PostgresClient

from recruit import embedded_db


def _server_settings(settings_dict: dict) -> dict:
    """The settings dict with the running embedded server's socket, port and user filled in."""
    # Django's "no database" connection (used to create the test database) names no database.
    database = settings_dict["NAME"] or "postgres"
    info = embedded_db.ensure_server(Path(settings_dict["EMBEDDED_DIR"]), database)
    return {**settings_dict, "HOST": str(info.socket_dir), "PORT": str(info.port), "USER": embedded_db.SUPERUSER}


class DatabaseClient(PostgresClient):
    """`manage.py dbshell` against the embedded server."""

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        return super().settings_to_cmd_args_env(_server_settings(settings_dict), parameters)


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def get_connection_params(self):
        server = _server_settings(self.settings_dict)
        params = super().get_connection_params()
        params.update(host=server["HOST"], port=server["PORT"], user=server["USER"])
        return params
