"""Test set-up: a throwaway embedded PostgreSQL server and a private mock batch root per test.

The developer's database (.data/postgres) and mock files (.mock_batches) are never touched: the
server lives in a temporary directory removed at the end of the session, and subprocesses started by
tests (a second Django process, a Celery worker) find it through EMBEDDED_DB_DIR.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_TEST_SERVER_ROOT = Path(tempfile.mkdtemp(prefix="recruit-test-pg-"))
TEST_DB_DIR = _TEST_SERVER_ROOT / "pgdata"


def pytest_configure(config):
    from django.conf import settings
    from django.db import connections

    os.environ["EMBEDDED_DB_DIR"] = str(TEST_DB_DIR)
    os.environ.pop("DATABASE_URL", None)
    settings.DATABASE_URL = None
    settings.EMBEDDED_DB_DIR = TEST_DB_DIR
    settings.DATABASES["default"] = {
        **settings.DATABASES["default"],
        "ENGINE": "recruit.db_backend",
        "NAME": "recruit",
        "EMBEDDED_DIR": TEST_DB_DIR,
        "CONN_MAX_AGE": 0,
    }
    for key in ("HOST", "PORT", "USER", "PASSWORD", "OPTIONS"):
        settings.DATABASES["default"].pop(key, None)
    connections.__dict__.pop("settings", None)  # forget any settings read before this hook


def pytest_unconfigure(config):
    from recruit import embedded_db

    if TEST_DB_DIR.exists():
        embedded_db.destroy(TEST_DB_DIR)
    shutil.rmtree(_TEST_SERVER_ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_batch_dirs(settings, tmp_path):
    """Each test gets its own mock Batch API root and batch work directory."""
    settings.MOCK_BATCH_DIR = tmp_path / "mock_batches"
    settings.BATCH_WORK_DIR = tmp_path / "batch_files"
    return settings.MOCK_BATCH_DIR


@pytest.fixture
def test_database_url(db):
    """A DATABASE_URL for subprocesses that must see the test database."""
    from django.db import connection

    from recruit import embedded_db

    info = embedded_db.read_running(TEST_DB_DIR)
    return info.uri(connection.settings_dict["NAME"])
