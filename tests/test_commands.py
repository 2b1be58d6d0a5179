"""The operator commands (issue 5): poll_batches, batch_status, cancel_batch, retry_failed, mock_batches.

In process through call_command against the test database and a real mock engine on the test's own root,
and as `manage.py` subprocesses where what matters is what a shell sees: exit status, one-line errors, no
traceback.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.batches.submit import submit_pending
from core.mock_openai.client import MockOpenAIClient
from core.mock_openai.engine.housekeeping import batch_detail, clean
from core.models import CV, BatchJob, BatchKind, BatchStatus, ItemStatus, Job, ParseStatus, Prediction
from tests.mock_batch_helpers import embedding_request, upload, write_jsonl
from tests.pipeline_helpers import make_cv, make_job

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ("poll_batches", "batch_status", "cancel_batch", "retry_failed", "mock_batches")
DAY = 24 * 3600


@pytest.fixture
def mock_backend(settings):
    """BatchService() in the commands selects the mock on this test's root: no failures, instant batches."""
    settings.USE_MOCK_BATCH = True
    settings.MOCK_BATCH_FAILURE_RATE = 0.0
    settings.MOCK_BATCH_LATENCY = 0.0
    return settings


def run(*args) -> str:
    """call_command, returning what the command wrote to stdout."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def submit_parse(n: int = 3) -> BatchJob:
    for i in range(n):
        make_cv(i)
    [batch] = submit_pending(BatchKind.CV_PARSE)
    return batch


def unknown_batch(kind: str = BatchKind.CV_PARSE, status: str = BatchStatus.IN_PROGRESS) -> BatchJob:
    """A batch our database knows and the provider does not (deleted at the provider, other account, ...)."""
    return BatchJob.objects.create(
        kind=kind,
        backend="mock",
        endpoint="/v1/chat/completions",
        model="gpt-4o-mini",
        provider_batch_id="batch_" + "0" * 32,
        input_file_id="file-" + "0" * 24,
        status=status,
    )


def manage(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- poll_batches -----------------------------------------------------------------------------------
@pytest.mark.django_db
class TestPollBatches:
    def test_once_is_the_default_and_ingests_finished_batches(self, mock_backend):
        batch = submit_parse(3)
        out = run("poll_batches")
        assert f"ingested cv_parse {batch.provider_batch_id}: 3 succeeded, 0 failed" in out
        assert "polled 1 batch(es): 1 ingested, 0 still open" in out
        assert "requests: 3 succeeded, 0 failed, 0 not run" in out
        batch.refresh_from_db()
        assert batch.ingested_at is not None and batch.status == BatchStatus.COMPLETED
        assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PARSED}
        assert "polled 0 batch(es): 0 ingested, 0 still open" in run("poll_batches", "--once")

    def test_once_reports_a_batch_still_in_flight(self, mock_backend):
        mock_backend.MOCK_BATCH_LATENCY = 3600.0
        batch = submit_parse(2)
        out = run("poll_batches", "--once")
        assert f"cv_parse {batch.provider_batch_id}: validating, 0 completed and 0 failed of 2\n" in out
        assert "polled 1 batch(es): 0 ingested, 1 still open" in out

    def test_wait_polls_until_nothing_is_open(self, mock_backend):
        mock_backend.MOCK_BATCH_LATENCY = 1.0
        batch = submit_parse(2)
        started = time.monotonic()
        out = run("poll_batches", "--wait", "--interval", "0.2")
        assert time.monotonic() - started >= 0.8  # it really waited for the batch's latency
        assert f"ingested cv_parse {batch.provider_batch_id}: 2 succeeded" in out
        assert "0 still open" in out and "round(s)" in out
        assert BatchJob.objects.get().ingested_at is not None

    def test_wait_gives_up_at_the_timeout_with_a_summary(self, mock_backend):
        mock_backend.MOCK_BATCH_LATENCY = 3600.0
        submit_parse(1)
        with pytest.raises(CommandError, match=r"gave up after 0.3s: 1 batch\(es\) still open"):
            run("poll_batches", "--wait", "--interval", "0.1", "--timeout", "0.3")

    def test_a_batch_the_provider_cannot_answer_for_is_named_and_the_others_still_polled(self, mock_backend, caplog):
        missing = unknown_batch()
        batch = submit_parse(2)
        with pytest.raises(CommandError, match=rf"1 batch\(es\) could not be polled \({missing.provider_batch_id}\)"):
            run("poll_batches")
        batch.refresh_from_db()
        assert batch.ingested_at is not None
        assert "event=poll_failed" in caplog.text and "NotFoundError" in caplog.text

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--timeout", "5"), "--timeout only applies with --wait"),
            (("--once", "--wait"), "not allowed with argument"),
            (("--wait", "--interval", "0"), "must be a positive number"),
            (("--wait", "--interval", "soon"), "is not a number"),
        ],
    )
    def test_bad_options(self, args, message, mock_backend):
        with pytest.raises(CommandError, match=message):
            run("poll_batches", *args)


# --- batch_status ----------------------------------------------------------------------------------
@pytest.mark.django_db
class TestBatchStatus:
    def test_no_batches(self):
        assert run("batch_status").strip() == "no batches yet"

    def test_table_of_recent_batches_newest_first_with_filters(self, mock_backend):
        parse = submit_parse(2)
        make_job(1, "Backend Engineer", ["Python"])
        [jobs] = submit_pending(BatchKind.JOB_EMBEDDING)
        lines = run("batch_status").splitlines()
        assert lines[0].split() == [
            "ID",
            "PROVIDER",
            "ID",
            "KIND",
            "STATUS",
            "DONE/FAILED/TOTAL",
            "CREATED",
            "INGESTED",
        ]
        assert lines[1].split()[:3] == [str(jobs.pk), jobs.provider_batch_id, "job_embedding"]
        assert lines[2].split()[:5] == [str(parse.pk), parse.provider_batch_id, "cv_parse", "validating", "0/0/2"]
        assert lines[2].endswith("not yet")
        only_parse = run("batch_status", "--kind", "cv_parse").splitlines()
        assert len(only_parse) == 2 and parse.provider_batch_id in only_parse[1]
        assert len(run("batch_status", "--limit", "1").splitlines()) == 2
        run("poll_batches")
        assert run("batch_status", "--open").strip() == "no batches match"

    def test_one_batch_in_detail_by_either_id_with_its_failed_items(self, mock_backend):
        mock_backend.MOCK_BATCH_FAILURE_RATE = 0.5
        mock_backend.MAX_ATTEMPTS = 1
        batch = submit_parse(8)
        run("poll_batches")
        batch.refresh_from_db()
        failed = batch.items.filter(status=ItemStatus.FAILED)
        assert 0 < failed.count() < 8, "the seed should fail some requests and not others"
        by_pk = run("batch_status", str(batch.pk))
        assert run("batch_status", batch.provider_batch_id) == by_pk
        assert f"batch:       {batch.pk} ({batch.provider_batch_id})" in by_pk
        assert "kind:        cv_parse (CV parse)" in by_pk
        assert f"requests:    8 total, {8 - failed.count()} completed, {failed.count()} failed" in by_pk
        assert f"{failed.count()} failed, 0 not run" in by_pk
        assert f"failed and not-run items ({failed.count()} of {failed.count()}):" in by_pk
        for item in failed:
            assert item.custom_id in by_pk and item.error_code in by_pk
        assert f"(1 of {failed.count()})" in run("batch_status", str(batch.pk), "--items", "1")

    def test_a_batch_with_nothing_failed(self, mock_backend):
        batch = submit_parse(1)
        run("poll_batches")
        assert "no failed or not-run items" in run("batch_status", str(batch.pk))

    @pytest.mark.parametrize("identifier", ["424242", "batch_nope", "  "])
    def test_unknown_batch(self, identifier):
        with pytest.raises(CommandError, match=r"^no batch '.*': give a BatchJob id or a provider batch id"):
            run("batch_status", identifier)


# --- cancel_batch ----------------------------------------------------------------------------------
@pytest.mark.django_db
class TestCancelBatch:
    def test_cancels_and_ingests_so_the_rows_return_to_pending(self, mock_backend):
        mock_backend.MOCK_BATCH_LATENCY = 3600.0
        batch = submit_parse(3)
        assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.QUEUED}
        out = run("cancel_batch", batch.provider_batch_id)
        assert f"cancel requested: cv_parse {batch.provider_batch_id} is now cancelled" in out
        assert "0 succeeded, 0 failed, 3 not run" in out
        batch.refresh_from_db()
        assert batch.status == BatchStatus.CANCELLED and batch.ingested_at is not None
        assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PENDING}
        assert set(CV.objects.values_list("parse_attempts", flat=True)) == {0}  # not run: the attempt is given back
        assert "is already cancelled" in run("cancel_batch", str(batch.pk))

    def test_a_finished_batch_cannot_be_cancelled(self, mock_backend):
        batch = submit_parse(1)
        run("poll_batches")
        with pytest.raises(CommandError, match=r"already completed: only a batch in progress can be cancelled"):
            run("cancel_batch", str(batch.pk))

    def test_the_providers_refusal_is_one_line(self, mock_backend):
        missing = unknown_batch()
        refused = r"^could not cancel cv_parse batch_0+: NotFoundError \(HTTP 404\): No batch found"
        with pytest.raises(CommandError, match=refused):
            run("cancel_batch", missing.provider_batch_id)

    def test_unknown_batch(self):
        with pytest.raises(CommandError, match="no batch '99'"):
            run("cancel_batch", "99")


# --- retry_failed ----------------------------------------------------------------------------------
@pytest.mark.django_db
class TestRetryFailed:
    def test_moves_rows_that_gave_up_back_to_pending_for_one_kind_or_all(self):
        gave_up = [make_cv(i, parse_status=ParseStatus.FAILED, parse_attempts=3, parse_error="boom") for i in range(2)]
        parsed = make_cv(5, parse_status=ParseStatus.PARSED)
        job = make_job(1, "Nurse", ["Triage"], embedding_status="failed", embedding_attempts=3)

        out = run("retry_failed", "--kind", "cv_parse")
        assert out.splitlines() == [
            "cv_parse: 2 row(s) back to pending",
            "2 row(s) to retry: the next submit (run_pipeline or the worker) sends them",
        ]
        for cv in gave_up:
            cv.refresh_from_db()
            assert (cv.parse_status, cv.parse_attempts) == (ParseStatus.PENDING, 0)
        parsed.refresh_from_db()
        assert parsed.parse_status == ParseStatus.PARSED
        job.refresh_from_db()
        assert job.embedding_status == "failed"

        out = run("retry_failed")
        assert "job_embedding: 1 row(s) back to pending" in out and "cv_parse: 0 row(s)" in out
        assert set(out.split(":")[0] for out in out.splitlines()[:5]) == set(BatchKind.values)
        assert run("retry_failed").splitlines()[-1] == "nothing to retry: no row has failed for good"

    def test_explanations_too(self):
        cv, job = make_cv(1), make_job(1, "Nurse", ["Triage"])
        Prediction.objects.create(cv=cv, job=job, score=0.9, rank=1, explanation_status="failed")
        assert "explanation: 1 row(s) back to pending" in run("retry_failed", "--kind", "explanation")
        assert Prediction.objects.get().explanation_status == "pending"

    def test_unknown_kind(self):
        with pytest.raises(CommandError, match=r"argument --kind: invalid choice: 'cv'"):
            run("retry_failed", "--kind", "cv")


# --- mock_batches (no database: pytest-django fails any test here that touches it) -------------------
class Clock:
    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def make_batch(root, tmp_path, name: str, *, age_days: float = 0.0, latency: float = 0.0, input_file=None):
    """A mock batch created (and, without latency, finished) `age_days` ago; returns (client, batch)."""
    client = MockOpenAIClient(root=root, failure_rate=0.0, latency=latency, clock=Clock(-age_days * DAY))
    if input_file is None:
        requests = [embedding_request(f"{name}-{i}", f"text {i}", dimensions=8) for i in range(3)]
        input_file = upload(client, write_jsonl(tmp_path / f"{name}.jsonl", requests))
    batch = client.batches.create(input_file_id=input_file.id, endpoint="/v1/embeddings", completion_window="24h")
    return client, client.batches.retrieve(batch.id)


class TestMockBatches:
    def test_list_newest_first_as_last_observed(self, isolated_batch_dirs, tmp_path):
        _, first = make_batch(isolated_batch_dirs, tmp_path, "a")
        _, second = make_batch(isolated_batch_dirs, tmp_path, "b", latency=3600)
        lines = run("mock_batches", "list").splitlines()
        assert lines[0].split() == ["ID", "STATUS", "ENDPOINT", "DONE/FAILED/TOTAL", "CREATED"]
        assert lines[1].split()[:4] == [second.id, "validating", "/v1/embeddings", "0/0/0"]
        assert lines[2].split()[:4] == [first.id, "completed", "/v1/embeddings", "3/0/3"]
        limited = run("mock_batches", "list", "--limit", "1").splitlines()
        assert len(limited) == 3 and limited[-1] == "(more batches: use --limit above 1)"

    def test_list_an_empty_root(self, isolated_batch_dirs):
        assert run("mock_batches", "list").strip() == f"no mock batches under {isolated_batch_dirs}"

    def test_show_prints_the_batch_json_and_its_files(self, isolated_batch_dirs, tmp_path):
        client, batch = make_batch(isolated_batch_dirs, tmp_path, "a")
        out = run("mock_batches", "show", batch.id)
        assert f'"id": "{batch.id}"' in out and '"status": "completed"' in out
        assert f"input   {batch.input_file_id}  a.jsonl" in out
        assert f"output  {batch.output_file_id}  {batch.id}_output.jsonl" in out
        assert str(isolated_batch_dirs / "output_files") in out
        client.files.delete(batch.output_file_id)
        assert f"output  {batch.output_file_id}  (deleted)" in run("mock_batches", "show", batch.id)

    def test_show_does_not_advance_the_batch(self, isolated_batch_dirs, tmp_path):
        client = MockOpenAIClient(root=isolated_batch_dirs, failure_rate=0.0, latency=0.0)
        uploaded = upload(client, write_jsonl(tmp_path / "in.jsonl", [embedding_request("r", "x", dimensions=8)]))
        batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
        assert '"status": "validating"' in run("mock_batches", "show", batch.id)
        assert batch_detail(client.engine, batch.id)["batch"]["status"] == "validating"

    @pytest.mark.parametrize("batch_id", ["batch_" + "0" * 32, "../../etc/passwd", "nope"])
    def test_show_unknown(self, batch_id, isolated_batch_dirs):
        with pytest.raises(CommandError, match=r"^No batch found with id"):
            run("mock_batches", "show", batch_id)

    def test_clean_deletes_old_finished_batches_and_keeps_the_rest(self, isolated_batch_dirs, tmp_path):
        root = isolated_batch_dirs
        old_client, old = make_batch(root, tmp_path, "old", age_days=10)
        _, running = make_batch(root, tmp_path, "running", age_days=30, latency=1e9)
        _, recent = make_batch(root, tmp_path, "recent", age_days=3)
        # an old input file that a recent batch reuses stays with it; an old upload nobody uses goes
        shared_input = old_client.files.retrieve(old.input_file_id)
        _, reuser = make_batch(root, tmp_path, "reuser", input_file=shared_input)
        orphan = upload(old_client, write_jsonl(tmp_path / "orphan.jsonl", [embedding_request("o", "x")]))
        stale_temp, fresh_temp = root / "input_files" / ".tmp-stale", root / "output_files" / ".tmp-fresh"
        stale_temp.write_bytes(b"half a write")
        fresh_temp.write_bytes(b"a write in progress")
        os.utime(stale_temp, (time.time() - 20 * DAY,) * 2)
        assert running.status == "validating"

        dry = run("mock_batches", "-v", "2", "clean", "--older-than", "7", "--dry-run")
        assert f"would delete {old.id}" in dry
        assert "would delete 1 batch(es), 2 file(s) and 1 leftover(s) older than 7 day(s)" in dry
        assert "kept 1 batch(es) still in progress" in dry
        assert len(old_client.batches.list().data) == 4 and stale_temp.exists()

        out = run("mock_batches", "clean", "--older-than", "7")
        assert "deleted 1 batch(es), 2 file(s) and 1 leftover(s)" in out
        remaining = {batch.id for batch in old_client.batches.list()}
        assert remaining == {running.id, recent.id, reuser.id}
        files = {file.id for file in old_client.files.list()}
        assert old.output_file_id not in files and orphan.id not in files
        assert {old.input_file_id, running.input_file_id, recent.input_file_id, recent.output_file_id} <= files
        assert not stale_temp.exists() and fresh_temp.exists()
        assert not list((root / "batch_metadata").glob(f"{old.id}*"))  # record and lock file both gone
        with pytest.raises(CommandError, match="No batch found"):
            run("mock_batches", "show", old.id)
        assert "deleted 0 batch(es), 0 file(s) and 0 leftover(s)" in run("mock_batches", "clean", "--older-than", "7")

    def test_clean_defaults_to_a_week(self, isolated_batch_dirs, tmp_path):
        _, three_days = make_batch(isolated_batch_dirs, tmp_path, "three", age_days=3)
        _, eight_days = make_batch(isolated_batch_dirs, tmp_path, "eight", age_days=8)
        assert "deleted 1 batch(es)" in run("mock_batches", "clean")
        client = MockOpenAIClient(root=isolated_batch_dirs)
        assert [batch.id for batch in client.batches.list()] == [three_days.id]

    def test_clean_never_takes_a_batch_in_progress_even_at_a_tiny_age(self, isolated_batch_dirs, tmp_path):
        client, running = make_batch(isolated_batch_dirs, tmp_path, "running", age_days=400, latency=1e12)
        run("mock_batches", "clean", "--older-than", "0.0001")
        assert client.batches.retrieve(running.id).status == "validating"
        assert client.files.retrieve(running.input_file_id).id == running.input_file_id

    def test_the_engine_refuses_a_cutoff_of_now(self, mock_client):
        with pytest.raises(ValueError, match="must be positive"):
            clean(mock_client.engine, 0)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((), "the following arguments are required"),
            (("purge",), "invalid choice: 'purge'"),
            (("clean", "--older-than", "-3"), "'-3' must be a positive number"),
            (("clean", "--older-than", "week"), "'week' is not a number"),
            (("list", "--limit", "0"), "'0' must be at least 1"),
            (("show",), "the following arguments are required: batch_id"),
        ],
    )
    def test_bad_input(self, args, message):
        with pytest.raises(CommandError, match=message):
            run("mock_batches", *args)


# --- What a shell sees ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = manage(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: manage.py {command}") and len(result.stdout.splitlines()) > 5


def _one_line_error(result: subprocess.CompletedProcess, status: int, text: str) -> None:
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    error_lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(error_lines) == 1 and text in error_lines[0], result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "status", "text"),
    [
        (("retry_failed", "--kind", "nope"), 2, "argument --kind: invalid choice: 'nope'"),
        (("poll_batches", "--interval", "-1", "--wait"), 2, "argument --interval: '-1' must be a positive number"),
        (("batch_status", "--limit", "x"), 2, "argument --limit: 'x' is not a whole number"),
        (("cancel_batch",), 2, "the following arguments are required: batch_id"),
        (("mock_batches", "clean", "--older-than", "0"), 2, "'0' must be a positive number"),
        (("mock_batches", "show", "batch_unknown"), 1, "CommandError: No batch found with id 'batch_unknown'."),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(args, status, text, tmp_path):
    _one_line_error(manage(*args, env={"MOCK_BATCH_DIR": str(tmp_path / "mock")}), status, text)


@pytest.mark.slow
def test_an_unreadable_mock_root_is_one_line(tmp_path):
    not_a_directory = tmp_path / "mock"
    not_a_directory.write_text("a file where the mock root should be")
    result = manage("mock_batches", "list", env={"MOCK_BATCH_DIR": str(not_a_directory)})
    _one_line_error(result, 1, f"CommandError: cannot read the mock storage at {not_a_directory}")


@pytest.mark.slow
def test_a_corrupt_batch_record_is_one_line(tmp_path):
    root = tmp_path / "mock"
    (root / "batch_metadata").mkdir(parents=True)
    (root / "batch_metadata" / f"batch_{'a' * 32}.json").write_text('{"batch": ')
    result = manage("mock_batches", "list", env={"MOCK_BATCH_DIR": str(root)})
    _one_line_error(result, 1, "CommandError: cannot read the mock storage at")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_unknown_batch_ids_from_a_shell(test_database_url, tmp_path):
    env = {"DATABASE_URL": test_database_url, "USE_MOCK_BATCH": "true", "MOCK_BATCH_DIR": str(tmp_path / "mock")}
    for command in ("batch_status", "cancel_batch"):
        _one_line_error(manage(command, "batch_missing", env=env), 1, "CommandError: no batch 'batch_missing'")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_backend_without_a_key_is_one_line(test_database_url, tmp_path):
    env = {"DATABASE_URL": test_database_url, "USE_MOCK_BATCH": "false", "OPENAI_API_KEY": ""}
    _one_line_error(manage("poll_batches", env=env), 1, "CommandError: OpenAI client not initialized")


@pytest.mark.django_db
def test_batch_status_only_reads(mock_backend):
    """batch_status only reads: running it leaves every row as it was."""
    submit_parse(2)
    before = list(CV.objects.values_list("pk", "parse_status", "parse_attempts")), Job.objects.count()
    run("batch_status")
    run("batch_status", str(BatchJob.objects.get().pk))
    assert (list(CV.objects.values_list("pk", "parse_status", "parse_attempts")), Job.objects.count()) == before
    assert BatchJob.objects.get().last_polled_at is None
