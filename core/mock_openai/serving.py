"""Serving only the mock OpenAI API on a port of its own, for `manage.py serve_mock_openai` and the
pytest plugin: any project, in any language, points its `openai` SDK at it with OPENAI_BASE_URL and
OPENAI_API_KEY.

The server runs the project's Django views (the same as /mock-openai/v1/) with the mock switched on, the
given key and root, and no middleware (the views need none: no sessions, no CSRF, no HTTPS redirect); it
is Django's threaded development server, a test tool and never a production one.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

STANDALONE_URLCONF = "core.mock_openai.http.standalone_urls"


def new_api_key() -> str:
    """A key for one server's life: the mock accepts only the key it was started with."""
    return "sk-mock-" + secrets.token_urlsafe(24)


def make_mock_server(host: str, port: int, root: Path, api_key: str) -> ThreadedWSGIServer:
    """A server (not yet serving: call `serve_forever`) answering the mock API under /v1/ from `root`.

    Port 0 takes a free port; `server.server_address` says which. Switches this process's settings to the
    mock's: call it only in a process that serves nothing else.
    """
    settings.ROOT_URLCONF = STANDALONE_URLCONF
    settings.MIDDLEWARE = []
    settings.ALLOWED_HOSTS = [host if host not in ("0.0.0.0", "::") else "*", "localhost", "127.0.0.1"]
    settings.MOCK_OPENAI_API = True
    settings.MOCK_OPENAI_API_KEY = api_key
    settings.MOCK_OPENAI_HTTP_DIR = Path(root)
    server = ThreadedWSGIServer((host, port), WSGIRequestHandler)
    server.daemon_threads = True
    server.set_app(get_wsgi_application())
    return server


def base_url(server: ThreadedWSGIServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/v1"
