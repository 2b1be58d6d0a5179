"""Logs (issue 5): one structured line per batch event, LOG_LEVEL, and an API key that never shows.

The key test sets a recognisable OPENAI_API_KEY, drives the pipeline, the commands, the admin and the
failure paths (the mock, and the real client pointed at a closed port), then searches everything a person
or a log shipper could see: stdout, stderr, log records, every row of every table, every file written.
"""

import io
import logging
import os
import re
import shlex
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path

import openai
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from core.batches.poll import poll_open_batches
from core.batches.submit import submit_pending
from core.mock_openai.client import MockOpenAIClient
from core.models import CV, BatchJob, BatchKind, BatchStatus, ItemStatus, ParseStatus
from core.operations.batches import retry_batch_failures
from core.services.batch_service import BatchService
from core.workflow.runner import run_pipeline
from recruit.log_redaction import REDACTED, RedactSecretsFilter
from tests.celery_helpers import running_worker
from tests.pipeline_helpers import make_cv, make_job, mock_service

REPO = Path(__file__).resolve().parent.parent
CLOSED_PORT_URL = "http://127.0.0.1:9/v1"  # discard: nothing listens, the connection is refused at once


def recognisable_key() -> str:
    return f"sk-test-RECOGNISABLE-{uuid.uuid4().hex}"


# --- one structured line per batch event ------------------------------------------------------------
def batch_events(records) -> list[dict]:
    """The key=value fields of each recruit.batches record."""
    return [
        dict(part.split("=", 1) for part in shlex.split(r.getMessage())) for r in records if r.name == "recruit.batches"
    ]


def events_of(events: list[dict], batch: BatchJob) -> dict[str, list[dict]]:
    by_name: dict[str, list[dict]] = {}
    for event in events:
        if event["batch"] == str(batch.pk):
            assert event["kind"] == batch.kind and event["provider_batch_id"] == batch.provider_batch_id, event
            by_name.setdefault(event["event"], []).append(event)
    return by_name


@pytest.mark.django_db
def test_every_batch_event_is_logged_once_with_the_kind_and_both_ids(settings, caplog):
    """A batch whose failures are retried, then the retry batch where the same requests fail and give up."""
    settings.MAX_ATTEMPTS = 2
    service = mock_service(failure_rate=0.5)  # deterministic on a fresh root: the same requests fail each run
    for n in range(8):
        make_cv(n)
    caplog.set_level(logging.INFO, logger="recruit.batches")

    [first] = submit_pending(BatchKind.CV_PARSE, service)
    poll_open_batches(service)
    first.refresh_from_db()
    failed = first.items.filter(status=ItemStatus.FAILED).count()
    assert 0 < failed < 8
    [second] = submit_pending(BatchKind.CV_PARSE, service)
    poll_open_batches(service)
    assert second.total == failed

    events = batch_events(caplog.records)
    one = events_of(events, first)
    assert {name: len(lines) for name, lines in one.items()} == {
        "submitted": 1,
        "status_changed": 1,
        "ingested": 1,
        "items_retried": 1,
    }
    assert one["submitted"][0]["requests"] == "8"
    assert (one["status_changed"][0]["previous"], one["status_changed"][0]["status"]) == ("validating", "completed")
    ingested = one["ingested"][0]
    assert (ingested["succeeded"], ingested["failed"], ingested["not_run"]) == (str(8 - failed), str(failed), "0")
    assert one["items_retried"][0]["count"] == str(failed)

    two = events_of(events, second)
    assert {name: len(lines) for name, lines in two.items()} == {
        "submitted": 1,
        "status_changed": 1,
        "ingested": 1,
        "items_given_up": 1,
    }
    failed_again = second.items.filter(status=ItemStatus.FAILED).count()
    assert failed_again > 0
    assert two["items_given_up"][0]["count"] == str(failed_again)
    assert two["ingested"][0]["succeeded"] == str(failed - failed_again)
    given_up = [r for r in caplog.records if "event=items_given_up" in r.getMessage()]
    assert [r.levelno for r in given_up] == [logging.WARNING]

    caplog.clear()
    assert retry_batch_failures(second) == failed_again
    [operator_retry] = batch_events(caplog.records)
    assert operator_retry == {
        "event": "items_retried",
        "kind": "cv_parse",
        "batch": str(second.pk),
        "provider_batch_id": second.provider_batch_id,
        "count": str(failed_again),
        "by": "operator",
    }


class SteppedClock:
    def __init__(self, now: float = 1_900_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db
def test_a_status_change_is_logged_once_and_a_poll_without_change_not_at_all(settings, caplog):
    clock = SteppedClock()
    client = MockOpenAIClient(root=settings.MOCK_BATCH_DIR, failure_rate=0.0, latency=100.0, clock=clock)
    service = BatchService(client=client)
    make_cv(1)
    make_cv(2)
    caplog.set_level(logging.INFO, logger="recruit.batches")
    [batch] = submit_pending(BatchKind.CV_PARSE, service)
    for moment in (5, 20, 30, 50, 85, 90, 101, 120):  # validating until 10, in progress until 80, done at 100
        clock.now = 1_900_000_000.0 + moment
        poll_open_batches(service)
    changes = [(e["previous"], e["status"]) for e in events_of(batch_events(caplog.records), batch)["status_changed"]]
    assert changes == [("validating", "in_progress"), ("in_progress", "finalizing"), ("finalizing", "completed")]
    assert len(events_of(batch_events(caplog.records), batch)["ingested"]) == 1


# --- LOG_LEVEL ---------------------------------------------------------------------------------------
def manage(*args, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def process_env(tmp_path, database_url: str, settings, **extra) -> dict:
    """A manage.py process on the test database and this test's mock root; nothing in the checkout."""
    return {
        "DATABASE_URL": database_url,
        "RECRUIT_DATA_DIR": str(tmp_path / "data"),
        "MOCK_BATCH_DIR": str(settings.MOCK_BATCH_DIR),
        "BATCH_WORK_DIR": str(settings.BATCH_WORK_DIR),
        "USE_MOCK_BATCH": "true",
        "MOCK_BATCH_FAILURE_RATE": "0",
        "MOCK_BATCH_LATENCY": "0",
        "EXPLAIN_TOP_N": str(settings.EXPLAIN_TOP_N),
        **extra,
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_log_level_controls_the_batch_event_lines(settings, tmp_path, test_database_url):
    service = mock_service(failure_rate=0.0)
    make_cv(1)
    [quiet] = submit_pending(BatchKind.CV_PARSE, service)
    result = manage("poll_batches", env=process_env(tmp_path, test_database_url, settings, LOG_LEVEL="WARNING"))
    assert result.returncode == 0, result.stderr
    assert "ingested cv_parse" in result.stdout  # the command's own output is not a log line
    assert "event=" not in result.stderr and " INFO " not in result.stderr
    quiet.refresh_from_db()
    assert quiet.ingested_at is not None

    make_cv(2)
    [loud] = submit_pending(BatchKind.CV_PARSE, service)
    result = manage("poll_batches", env=process_env(tmp_path, test_database_url, settings, LOG_LEVEL="INFO"))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "recruit.batches" in line]
    ids = f"kind=cv_parse batch={loud.pk} provider_batch_id={loud.provider_batch_id}"
    assert [re.search(r"event=(\w+)", line)[1] for line in lines] == ["status_changed", "ingested"]
    assert all(" INFO recruit.batches event=" in line and ids in line for line in lines)
    assert "succeeded=1 failed=0 not_run=0" in lines[1]


# --- the API key never shows -------------------------------------------------------------------------
def database_text() -> str:
    """Every row of every table, each rendered whole as PostgreSQL's text of the row."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT t::text FROM "{table}" AS t')  # noqa: S608 - names come from the catalogue
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


def files_text(*roots: Path) -> str:
    chunks = []
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file():
                chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_key_never_shows_in_output_logs_database_or_files(settings, tmp_path, test_database_url):
    key = recognisable_key()
    for n in range(4):
        make_cv(n)
        make_job(n, f"Engineer {n}", ["Python", "Django"])
    env = process_env(
        tmp_path, test_database_url, settings, OPENAI_API_KEY=key, LOG_LEVEL="DEBUG", MOCK_BATCH_FAILURE_RATE="0.3"
    )
    seen: list[str] = []

    def shell(*args, expect: int = 0, **override) -> subprocess.CompletedProcess:
        result = manage(*args, env={**env, **override})
        seen.extend([result.stdout, result.stderr])
        assert result.returncode == expect, (args, result.stdout[-2000:], result.stderr[-2000:])
        return result

    assert "Batch API backend: mock" in shell("batch_backend").stdout
    assert "batches:" in shell("run_pipeline").stdout
    assert "event=ingested" in "".join(seen)  # DEBUG really logged the batch events this run
    shell("batch_status")
    shell("batch_status", str(BatchJob.objects.order_by("pk").first().pk))
    shell("poll_batches")
    shell("retry_failed")
    shell("mock_batches", "list")
    shell("mock_batches", "show", BatchJob.objects.order_by("pk").first().provider_batch_id)
    shell("batch_status", "batch_missing", expect=1)

    # The real client, with the key, against a closed port: refused connections, logged and reported.
    real = {"USE_MOCK_BATCH": "false", "OPENAI_BASE_URL": CLOSED_PORT_URL}
    stranded = BatchJob.objects.create(
        kind=BatchKind.CV_PARSE,
        backend="openai",
        endpoint="/v1/chat/completions",
        model="gpt-4o-mini",
        provider_batch_id="batch_stranded",
        input_file_id="file-stranded",
        status=BatchStatus.IN_PROGRESS,
    )
    assert "Batch API backend: openai (http://127.0.0.1:9/v1)" in shell("batch_backend", **real).stdout
    polled = shell("poll_batches", expect=1, **real)
    assert "event=poll_failed" in polled.stderr and "APIConnectionError" in polled.stderr
    cancelled = shell("cancel_batch", str(stranded.pk), expect=1, **real)
    assert "CommandError: could not cancel cv_parse batch_stranded: APIConnectionError: Connection error." in (
        cancelled.stderr
    )
    make_cv(99)  # pending work, so run_pipeline uploads, fails, and stops with the SDK's error on one line
    crashed = shell("run_pipeline", expect=1, **real)
    assert "CommandError: running the pipeline: APIConnectionError: Connection error." in crashed.stderr

    assert CV.objects.filter(parse_status=ParseStatus.PARSED).exists()
    everything = "\n".join(seen) + database_text() + files_text(settings.MOCK_BATCH_DIR, tmp_path)
    assert key not in everything
    assert key[len("sk-test-") :] not in everything  # not even without its prefix


@pytest.mark.django_db
def test_the_key_never_shows_in_the_admin(settings, caplog):
    """Every admin page reachable by links from the index, after a pipeline run with failures."""
    key = recognisable_key()
    settings.OPENAI_API_KEY, settings.USE_MOCK_BATCH = key, True
    caplog.set_level(logging.DEBUG)
    for n in range(3):
        make_cv(n)
        make_job(n, f"Engineer {n}", ["Python"])
    run_pipeline(mock_service(failure_rate=0.3))
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)

    queue, visited, pages = ["/admin/"], set(), []
    while queue and len(visited) < 300:
        url = queue.pop()
        if url in visited:
            continue
        visited.add(url)
        response = client.get(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        pages.append(body.decode("utf-8", "replace"))
        if response.get("Content-Type", "").startswith("text/html"):
            for link in re.findall(r'href="(/admin/[^"#?]*)', pages[-1]):
                if "logout" not in link and "password" not in link and not link.endswith("/delete/"):
                    queue.append(link)
    assert len(visited) > 10, visited  # the crawl really went through the changelists and objects
    assert key not in "\n".join(pages) and key not in caplog.text


@pytest.mark.django_db
def test_the_real_client_never_puts_the_key_in_errors_or_logs(settings, caplog, tmp_path):
    """The official SDK with the key and a closed port: every call fails; no message, repr, traceback
    (with its causes) or log record of the SDK, httpx or httpcore, at DEBUG, carries the key."""
    key = recognisable_key()
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.USE_MOCK_BATCH = key, CLOSED_PORT_URL, False
    names = ("openai", "httpx", "httpcore", "httpx2", "httpcore2", "core")  # the SDK's client is httpx or httpx2
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    try:
        service = BatchService(use_mock=False)
        assert service.backend == "openai" and service.client.api_key == key
        request_file = tmp_path / "in.jsonl"
        request_file.write_text('{"custom_id": "a"}\n')
        calls = [
            lambda: service.upload_file(request_file),
            lambda: service.create_batch("file-abc", "/v1/embeddings"),
            lambda: service.retrieve_batch("batch_abc"),
            lambda: service.cancel_batch("batch_abc"),
            lambda: list(service.iter_file_lines("file-abc")),
            lambda: service.list_batches(),
        ]
        texts = []
        for call in calls:
            with pytest.raises(openai.APIConnectionError) as raised:
                call()
            error = raised.value
            texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
            logging.getLogger("core.batches.poll").error("a logged failure: %s", error, exc_info=error)
    finally:
        for logger in loggers:
            logger.removeHandler(caplog.handler)
    assert any("Connection error." in text for text in texts)
    assert any("ConnectError" in text for text in texts)  # the traceback with the transport's cause
    assert "127.0.0.1" in caplog.text  # the SDK's DEBUG lines (the retries) were captured
    assert key not in "\n".join(texts) and key not in caplog.text


# --- the redaction filter ----------------------------------------------------------------------------
def redacting_logger(stream) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger(f"tests.redaction.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger


def test_the_filter_removes_the_key_from_messages_arguments_tracebacks_and_stacks(settings):
    key = recognisable_key()
    settings.OPENAI_API_KEY = key
    stream = io.StringIO()
    logger = redacting_logger(stream)
    logger.info("key in the message " + key)
    logger.info("key in an argument %s", key)
    try:
        raise RuntimeError(f"key in an exception {key}")
    except RuntimeError:
        logger.exception("failed")
    logger.info("stack with the key", stack_info=True, extra={"unused": key})
    logger.info("too few arguments %s %s", key)  # a broken log call neither raises nor leaks
    text = stream.getvalue()
    assert key not in text
    assert text.count(REDACTED) == 4
    assert "key in an exception [redacted]" in text and "RuntimeError" in text
    assert "log arguments do not match the format" in text


def test_without_a_key_nothing_is_rewritten(settings):
    settings.OPENAI_API_KEY = None
    stream = io.StringIO()
    redacting_logger(stream).info("plain %s", "text")
    assert stream.getvalue() == "plain text\n"


@pytest.mark.slow
def test_every_handler_of_a_django_process_redacts(tmp_path):
    """LOGGING's handlers, and the handlers a Celery worker installs in their place."""
    code = (
        "import logging, django; django.setup()\n"
        "from recruit.log_redaction import RedactSecretsFilter\n"
        "def writers():  # NullHandlers write nothing, so need no filter\n"
        "    loggers = [logging.root, *(x for x in logging.Logger.manager.loggerDict.values()"
        " if isinstance(x, logging.Logger))]\n"
        "    return [(x.name, h) for x in loggers for h in x.handlers if not isinstance(h, logging.NullHandler)]\n"
        "def unfiltered():\n"
        "    return [f'{name}:{h!r}' for name, h in writers()"
        " if not any(isinstance(f, RedactSecretsFilter) for f in h.filters)]\n"
        "print('django', len(writers()), unfiltered())\n"
        "from recruit.celery import app\n"
        "app.log.setup(loglevel='INFO')\n"
        "print('celery', len(writers()), unfiltered())\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recruit.settings", "RECRUIT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    django_line, celery_line = result.stdout.splitlines()
    assert re.fullmatch(r"django [1-9]\d* \[\]", django_line), django_line
    assert re.fullmatch(r"celery [1-9]\d* \[\]", celery_line), celery_line


@pytest.mark.slow
def test_a_celery_worker_redacts_its_own_log_lines(tmp_path):
    """The key is set to a word the worker logs at start-up ("Connected to filesystem://..."), so its own
    handlers must show it redacted; nothing here talks to a provider (USE_MOCK_BATCH=true)."""
    env = {
        **os.environ,
        "OPENAI_API_KEY": "filesystem",
        "USE_MOCK_BATCH": "true",
        "RECRUIT_DATA_DIR": str(tmp_path / "data"),
        "CELERY_BROKER_URL": "",
    }
    log_path = tmp_path / "worker.log"
    with running_worker(env, log_path) as worker:
        deadline = time.monotonic() + 60
        while "Connected to" not in log_path.read_text() and worker.poll() is None:
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
    connected = [line for line in log_path.read_text().splitlines() if "Connected to" in line]
    assert connected and all(f"Connected to {REDACTED}://" in line for line in connected), connected


def test_the_mock_apis_own_key_is_redacted_too(settings):
    from recruit.log_redaction import REDACTED, redact

    settings.OPENAI_API_KEY, settings.MOCK_OPENAI_API_KEY = "sk-real-secret", "mock-secret-key"
    assert redact("a sk-real-secret and a mock-secret-key") == f"a {REDACTED} and a {REDACTED}"
