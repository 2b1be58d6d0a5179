"""Test set-up: a throwaway embedded PostgreSQL server and a private mock batch root per test.

The developer's database (.data/postgres) and mock files (.mock_batches) are never touched: the
server lives in a temporary directory removed at the end of the session, and subprocesses started by
tests (a second Django process, a Celery worker) find it through EMBEDDED_DB_DIR.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

SERVER_ROOT_PREFIX = "recruit-test-pg-"
OWNER_FILE = "owner.pid"


def _remove_abandoned_test_servers() -> None:
    """A test run killed before its teardown (a CI timeout, Ctrl-C twice) leaves its server running:
    stop and delete those whose pytest process is gone, so they do not pile up across runs."""
    import psutil

    from recruit import embedded_db

    for root in Path(tempfile.gettempdir()).glob(f"{SERVER_ROOT_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (FileNotFoundError, ValueError):
            continue
        if psutil.pid_exists(owner):
            continue
        if (root / "pgdata").exists():
            embedded_db.destroy(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


def pytest_configure(config):
    from django.conf import settings
    from django.db import connections

    _remove_abandoned_test_servers()
    root = Path(tempfile.mkdtemp(prefix=SERVER_ROOT_PREFIX))
    (root / OWNER_FILE).write_text(str(os.getpid()))
    config.recruit_test_server_root = root
    TEST_DB_DIR = root / "pgdata"
    os.environ["EMBEDDED_DB_DIR"] = str(TEST_DB_DIR)
    os.environ.pop("DATABASE_URL", None)
    settings.DATABASE_URL = None
    settings.EMBEDDED_DB_DIR = TEST_DB_DIR
    # The test client and the live server speak http; the production HTTPS settings are checked by
    # tests/test_deploy_check.py.
    settings.SECURE_SSL_REDIRECT = False
    # pytest-django may already hold a connection built from these settings: change the dict it shares
    # in place and drop the connection so the next one is opened on the throwaway server.
    database = settings.DATABASES["default"]
    database.clear()
    database.update({"ENGINE": "recruit.db_backend", "NAME": "recruit", "EMBEDDED_DIR": TEST_DB_DIR, "CONN_MAX_AGE": 0})
    connections.__dict__.pop("settings", None)
    with contextlib.suppress(AttributeError):
        del connections["default"]


def pytest_unconfigure(config):
    from recruit import embedded_db

    root = config.recruit_test_server_root
    if (root / "pgdata").exists():
        embedded_db.destroy(root / "pgdata")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_batch_dirs(settings, tmp_path):
    """Each test gets its own mock Batch API root and batch work directory."""
    settings.MOCK_BATCH_DIR = tmp_path / "mock_batches"
    settings.MOCK_OPENAI_HTTP_DIR = tmp_path / "mock_openai_http"
    settings.BATCH_WORK_DIR = tmp_path / "batch_files"
    return settings.MOCK_BATCH_DIR


@pytest.fixture
def test_database_url(db, settings):
    """A DATABASE_URL for subprocesses that must see the test database."""
    from django.db import connection

    from recruit import embedded_db

    info = embedded_db.read_running(settings.EMBEDDED_DB_DIR)
    return info.uri(connection.settings_dict["NAME"])


# --- The mock Batch API (issue 3) ------------------------------------------------------------------
@pytest.fixture
def mock_client_factory(isolated_batch_dirs):
    """MockOpenAIClient instances on this test's own mock root, removed when the test ends."""
    from core.mock_openai.client import MockOpenAIClient

    def make(**options):
        options.setdefault("root", isolated_batch_dirs)
        return MockOpenAIClient(**options)

    yield make
    shutil.rmtree(isolated_batch_dirs, ignore_errors=True)


@pytest.fixture
def mock_client(mock_client_factory):
    """A mock client that injects no failures and completes on the first retrieve."""
    return mock_client_factory(failure_rate=0.0, latency=0.0)


@pytest.fixture
def http_mock_openai(live_server, settings):
    """The official `openai` SDK pointed at the mock API served by the live server."""
    import openai

    settings.ROOT_URLCONF = "tests.mock_api_urls"  # mounted even when MOCK_OPENAI_API was off at startup
    settings.MOCK_OPENAI_API = True  # the views answer only when switched on, with a key of their own
    settings.MOCK_OPENAI_API_KEY = "test-key"
    return openai.OpenAI(base_url=f"{live_server.url}/mock-openai/v1", api_key="test-key", max_retries=0)


@pytest.fixture(params=["http-mock", "openai"])
def batch_api(request):
    """For `real_api` tests: the SDK on the HTTP mock, and on OpenAI itself when asked for explicitly."""
    if request.param == "openai":
        if os.environ.get("USE_MOCK_BATCH", "").lower() not in ("false", "0", "no") or not os.environ.get(
            "OPENAI_API_KEY"
        ):
            pytest.skip("runs against OpenAI only with USE_MOCK_BATCH=false and OPENAI_API_KEY set")
        import openai

        return openai.OpenAI()
    return request.getfixturevalue("http_mock_openai")
