"""Issue 8's cases, one test each: edits in flight, commit-order races, concurrent polls, crashes
between create and commit, a batch that cannot be ingested, and batches on another backend or lost.

Each runs against the real database and the real mock engine; races use a second real connection
(psycopg, a transaction held open) or a real process killed with SIGKILL.
"""

import os
import signal
import subprocess
import sys
import textwrap
from io import StringIO
from pathlib import Path

import numpy as np
import orjson
import psycopg
import pytest
from django.core.management import call_command
from django.db import DataError

from core.batches.poll import poll_batch, poll_open_batches, record_poll_failure, refresh_batch
from core.batches.reconcile import reconcile
from core.batches.registry import get_kind
from core.batches.submit import submit_pending
from core.importing.jobs import import_jobs_file
from core.matching.matcher import cvs_needing_match, match_pending_cvs
from core.models import (
    CV,
    BatchItem,
    BatchJob,
    EmbeddingStatus,
    ExplanationStatus,
    ItemStatus,
    Job,
    ParseStatus,
    Prediction,
)
from core.operations.rows import reembed_cvs, reparse_cvs
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import embedded_cv, embedded_job, make_cv, make_job, mock_service, unit_vector

REPO = Path(__file__).resolve().parent.parent


def _vector(row) -> np.ndarray:
    row.refresh_from_db()
    return np.asarray(row.embedding, dtype=np.float32)


def _write_jobs(path: Path, **fields) -> Path:
    job = {"external_id": "JOB-1", "title": "Backend Engineer", "skills": ["Python"], **fields}
    path.write_text(orjson.dumps(job).decode() + "\n")
    return path


# --- 1. A stale result never wins after an edit -------------------------------------------------------
@pytest.mark.django_db
def test_a_job_edited_while_its_embedding_is_in_flight_gets_the_vector_of_its_new_text(tmp_path):
    service = mock_service()
    import_jobs_file(_write_jobs(tmp_path / "a.jsonl", description="Maintain COBOL payroll batch jobs."))
    [stale] = submit_pending("job_embedding", service)
    import_jobs_file(_write_jobs(tmp_path / "b.jsonl", description="Build Django REST APIs on PostgreSQL."))
    job = Job.objects.get()
    assert (job.embedding_status, job.embedding_version) == (EmbeddingStatus.PENDING, 1)

    poll_open_batches(service)
    assert stale.items.get().status == ItemStatus.SUPERSEDED
    job.refresh_from_db()
    assert job.embedding is None and job.embedding_status == EmbeddingStatus.PENDING
    assert run_pipeline(service).finished

    # A job imported with the new text from the start, in a calm run, gets the very same vector.
    calm = make_job(2, "Backend Engineer", ["Python"], "Build Django REST APIs on PostgreSQL.")
    calm.external_id, calm.company, calm.location = "JOB-1-calm", "", ""
    calm.save()
    assert run_pipeline(service).finished
    assert np.array_equal(_vector(Job.objects.get(external_id="JOB-1")), _vector(calm))


@pytest.mark.django_db(transaction=True)  # the job changes in a transaction after the match's
def test_an_explanation_in_flight_when_the_score_moves_is_not_stored(settings):
    settings.MATCH_TOP_K = settings.EXPLAIN_TOP_N = 1
    service = mock_service()
    base = unit_vector(5)
    job = embedded_job(1, 0.99 * base + 0.01 * unit_vector(6))
    cv = embedded_cv(1, base)
    match_pending_cvs()
    [stale] = submit_pending("explanation", service)
    old_score = Prediction.objects.get().score

    job.embedding = 0.6 * base + 0.4 * unit_vector(6)
    job.save()
    assert list(cvs_needing_match()) == [cv]
    match_pending_cvs()
    prediction = Prediction.objects.get()
    assert prediction.score < old_score - 0.01
    assert (prediction.explanation_status, prediction.explanation_version) == (ExplanationStatus.PENDING, 1)

    poll_open_batches(service)
    assert stale.items.get().status == ItemStatus.SUPERSEDED
    assert run_pipeline(service).finished
    prediction.refresh_from_db()
    assert prediction.explanation_status == ExplanationStatus.DONE
    assert f"{prediction.score:.2f}" in prediction.explanation and f"{old_score:.2f}" not in prediction.explanation


@pytest.mark.django_db
def test_a_cv_reparsed_while_its_embedding_is_in_flight_is_embedded_from_its_new_profile():
    service = mock_service()
    cv = make_cv(1)
    submit_pending("cv_parse", service)
    poll_open_batches(service)
    [in_flight] = submit_pending("cv_embedding", service)
    reparse_cvs(CV.objects.all())
    [reparse] = submit_pending("cv_parse", service)
    poll_batch(reparse, service)  # the new profile lands first, then the embedding of the old one
    poll_open_batches(service)
    assert in_flight.items.get().status == ItemStatus.SUPERSEDED
    assert run_pipeline(service).finished
    cv.refresh_from_db()
    assert (cv.parse_status, cv.embedding_status, cv.embedding_version) == (ParseStatus.PARSED, "embedded", 2)

    settled = _vector(cv)
    reembed_cvs(CV.objects.all())  # a calm embedding of the final profile gives the same vector
    assert run_pipeline(service).finished
    assert np.array_equal(_vector(cv), settled)


# --- 2. Matching never misses a job embedded during a match run -----------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_embedding_commits_after_a_match_run_began_is_matched(test_database_url):
    base = unit_vector(11)
    embedded_job(1, unit_vector(12))
    cv = embedded_cv(1, base)
    late = make_job(2, "Perfect Match", ["Python"])
    with psycopg.connect(test_database_url) as other:
        # The job's ingest: its transaction starts, writes the vector, and commits only after the match.
        other.execute("BEGIN")
        other.execute("SELECT now()")
        vector = "[" + ",".join(f"{x:.8f}" for x in base) + "]"
        other.execute(
            "UPDATE core_job SET embedding = %s::vector, embedding_status = 'embedded', embedded_at = now()"
            " WHERE id = %s",
            [vector, late.pk],
        )
        assert match_pending_cvs().cvs == 1
        other.execute("COMMIT")
    assert list(cvs_needing_match()) == [cv]
    assert match_pending_cvs().cvs == 1
    top = Prediction.objects.get(cv=cv, rank=1)
    assert top.job_id == late.pk and top.score == pytest.approx(1.0, abs=1e-5)
    assert not cvs_needing_match().exists()


# --- 3. A poll answered before another poller finished the batch changes nothing ------------------------
@pytest.mark.django_db
def test_a_late_in_progress_answer_does_not_roll_back_a_completed_ingested_batch():
    service = mock_service()
    make_cv(1)
    [batch] = submit_pending("cv_parse", service)
    # Poller A's answer, fetched while the batch was still running, saved only after B's commit.
    done = service.retrieve_batch(batch.provider_batch_id)
    early = done.model_copy(update={"status": "in_progress", "output_file_id": None, "completed_at": None})

    poll_open_batches(service)  # poller B: completes and ingests
    batch.refresh_from_db()
    assert batch.status == "completed" and batch.ingested_at is not None
    finished = (batch.status, batch.output_file_id, batch.completed, batch.ingested_at)

    class PollerA:
        def retrieve_batch(self, batch_id):
            return early

    refresh_batch(batch, PollerA())
    batch.refresh_from_db()
    assert (batch.status, batch.output_file_id, batch.completed, batch.ingested_at) == finished


# --- 4. A crash between creating a batch and committing it costs nothing twice --------------------------
def _submission_killed_after_create(database_url: str, mock_root: Path) -> int:
    """Run a real submission in another process that dies (SIGKILL) right after batches.create."""
    script = textwrap.dedent(
        f"""
        import os, signal, django
        os.environ["DJANGO_SETTINGS_MODULE"] = "recruit.settings"
        django.setup()
        from core.batches import submit
        from tests.pipeline_helpers import mock_service
        submit._insert_items = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
        submit.submit_pending("cv_parse", mock_service(root={str(mock_root)!r}))
        """
    )
    env = {**os.environ, "DATABASE_URL": database_url, "USE_MOCK_BATCH": "true"}
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, timeout=120).returncode


@pytest.mark.django_db(transaction=True)
def test_a_submitter_killed_after_create_leaves_a_batch_that_reconciliation_cancels(test_database_url, settings):
    for n in range(3):
        make_cv(n)
    assert _submission_killed_after_create(test_database_url, settings.MOCK_BATCH_DIR) == -signal.SIGKILL
    service = mock_service()
    [orphan] = list(service.list_batches())
    assert not BatchJob.objects.exists()
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PENDING}

    assert reconcile(service, grace_seconds=3600).cancelled == []  # too young: may still be committing
    report = reconcile(service, grace_seconds=0)
    assert report.cancelled == [orphan.id] and report.files_deleted == [orphan.input_file_id]
    assert service.retrieve_batch(orphan.id).status in ("cancelling", "cancelled")
    assert reconcile(service, grace_seconds=0).cancelled == []  # nothing left: safe to repeat

    assert run_pipeline(service).finished
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PARSED}
    assert BatchJob.objects.filter(kind="cv_parse").count() == 1


@pytest.mark.django_db
def test_a_database_error_after_create_is_reconciled_on_the_next_run(monkeypatch, settings):
    from core.batches import submit

    service = mock_service()
    make_cv(1)

    def broken(*args):
        raise DataError("injected: the database refused the items")

    monkeypatch.setattr(submit, "_insert_items", broken)
    with pytest.raises(DataError):
        submit_pending("cv_parse", service)
    monkeypatch.undo()
    [orphan] = list(service.list_batches())
    assert CV.objects.get().parse_status == ParseStatus.PENDING

    settings.RECONCILE_GRACE_SECONDS = 0
    assert run_pipeline(service).finished
    assert service.retrieve_batch(orphan.id).status in ("cancelling", "cancelled")
    assert not BatchJob.objects.filter(provider_batch_id=orphan.id).exists()
    assert BatchJob.objects.filter(kind="cv_parse").count() == 1


# --- 5. One batch that cannot be ingested never blocks the others ---------------------------------------
@pytest.mark.django_db
def test_an_answer_with_a_nul_character_is_retried_not_a_crash():
    service = mock_service()
    make_cv(1)
    [batch] = submit_pending("cv_parse", service)
    real_lines = service.iter_file_lines

    def hostile(file_id):  # the provider answers with a \u0000 inside the JSON document
        for line in real_lines(file_id):
            body = (line.get("response") or {}).get("body") or {}
            for choice in body.get("choices", []):
                choice["message"]["content"] = choice["message"]["content"].replace('"', '"\\u0000', 1)
            yield line

    service.iter_file_lines = hostile
    poll_open_batches(service)
    batch.refresh_from_db()
    assert batch.ingested_at is not None and batch.poll_error == ""
    item = batch.items.get()
    assert (item.status, item.error_code) == (ItemStatus.FAILED, "unusable_response")
    assert "NUL" in item.error_message
    assert CV.objects.get().parse_status == ParseStatus.PENDING  # retried with a fresh request


@pytest.mark.django_db
def test_a_batch_whose_ingest_raises_is_marked_and_retried_and_the_others_go_on(monkeypatch, settings, caplog):
    settings.POLL_RETRY_SECONDS = 0
    service = mock_service()
    make_cv(1)
    [broken] = submit_pending("cv_parse", service)
    make_job(1, "Backend Engineer", ["Python"])
    [healthy] = submit_pending("job_embedding", service)
    spec = get_kind("cv_parse")
    real_store = spec.store

    def store(values):
        raise DataError("injected: invalid byte sequence")

    monkeypatch.setattr(spec, "store", store)
    for _ in range(2):
        poll_open_batches(service)
    broken.refresh_from_db()
    healthy.refresh_from_db()
    assert healthy.ingested_at is not None
    assert broken.ingested_at is None and broken.poll_failures == 2
    assert broken.poll_error == "DataError: injected: invalid byte sequence"
    assert broken.items.get().status == ItemStatus.QUEUED  # the failed chunk rolled back whole
    assert caplog.text.count("event=poll_failed") == 1  # logged once, counted on the batch

    monkeypatch.setattr(spec, "store", real_store)
    poll_open_batches(service)
    broken.refresh_from_db()
    assert broken.ingested_at is not None and (broken.poll_error, broken.poll_failures) == ("", 0)
    assert CV.objects.get().parse_status == ParseStatus.PARSED


def test_the_backoff_doubles_and_is_capped(db, settings):
    from django.utils import timezone

    settings.POLL_RETRY_SECONDS = 30
    make_cv(1)
    [batch] = submit_pending("cv_parse", mock_service())
    delays = []
    for _ in range(9):
        before = timezone.now()
        record_poll_failure(batch, OSError("unreachable"))
        batch.refresh_from_db()
        delays.append(round((batch.next_poll_at - before).total_seconds() / 30))
    assert delays[:4] == [1, 2, 4, 8] and delays[-1] == 120  # then capped at an hour


# --- 6. Each batch is polled on its own backend; a batch the provider lost frees its rows ---------------
@pytest.mark.django_db
def test_a_mock_batch_is_still_polled_on_the_mock_after_an_api_key_is_set(settings):
    make_cv(1)
    [batch] = submit_pending("cv_parse", mock_service())
    settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = None, "sk-test-not-used-for-mock-batches"
    settings.MOCK_BATCH_FAILURE_RATE = 0.0
    from core.services.batch_service import BatchService

    default = BatchService()
    assert default.backend == "openai"
    poll_open_batches(default)
    batch.refresh_from_db()
    assert batch.ingested_at is not None and batch.poll_error == ""
    assert CV.objects.get().parse_status == ParseStatus.PARSED


@pytest.mark.django_db
def test_a_batch_the_provider_no_longer_has_is_lost_and_its_rows_go_back_to_pending(settings):
    settings.POLL_RETRY_SECONDS = 0
    settings.BATCH_LOST_AFTER_NOT_FOUND = 3
    service = mock_service()
    for n in range(2):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    BatchJob.objects.filter(pk=batch.pk).update(provider_batch_id="batch_the_provider_forgot")
    for polls in range(1, 4):
        poll_open_batches(service)
        batch.refresh_from_db()
        assert batch.poll_failures == polls and "NotFoundError" in batch.poll_error
    assert batch.lost_at is not None and batch.ingested_at is not None
    shown = StringIO()
    call_command("batch_status", str(batch.pk), stdout=shown)
    assert "lost:" in shown.getvalue() and "NotFoundError (HTTP 404)" in shown.getvalue()
    assert set(batch.items.values_list("status", "error_code")) == {(ItemStatus.NOT_RUN, "batch_lost")}
    assert set(CV.objects.values_list("parse_status", "parse_attempts")) == {(ParseStatus.PENDING, 0)}
    assert run_pipeline(service).finished
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PARSED}
    assert BatchItem.objects.filter(status=ItemStatus.QUEUED).count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_matching_worker_thread_reaches_the_caller(settings):
    """With two workers, matching runs in threads: an error there must fail the call (the Celery task,
    run_pipeline), not vanish into the thread and leave a partial report that looks like success."""
    from core.matching.matcher import match_pending_cvs
    from tests.pipeline_helpers import embedded_cv, embedded_job, unit_vector

    embedded_job(1, unit_vector(1))
    embedded_cv(1, unit_vector(2))
    settings.MATCH_EF_SEARCH = 5000  # beyond pgvector's limit (1,000): PostgreSQL refuses the search
    with pytest.raises(DataError):
        match_pending_cvs(workers=2)
