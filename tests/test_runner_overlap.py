"""run_pipeline sends the explanations of CVs already matched while the rest are still being matched.

The match runs in a thread of its own (its statements run in PostgreSQL, on other connections); the
runner's thread submits and polls the kinds after matching meanwhile. Real database, real mock engine.
"""

import threading
import time

import pytest
from django.db import OperationalError
from psycopg.errors import DeadlockDetected

from core.matching import matcher
from core.models import CV, BatchItem, BatchJob, ExplanationStatus, Prediction
from core.workflow import runner, steps
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import embedded_cv, embedded_job, mock_service, unit_vector

pytestmark = pytest.mark.django_db(transaction=True)

CVS = 4
WAIT_SECONDS = 30.0  # how long a step waits for the other thread before the test gives up on it


def _cvs_and_jobs(cvs: int = CVS, jobs: int = 3) -> None:
    for n in range(1, jobs + 1):
        embedded_job(n, unit_vector(100 + n))
    for n in range(1, cvs + 1):
        embedded_cv(n, unit_vector(n))


def _wait_for(condition) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _one_cv_a_chunk(monkeypatch, after_each_chunk) -> dict:
    """The real match, one CV a chunk, calling ``after_each_chunk(options)`` once each chunk has committed."""
    real_match = steps.match_when_settled
    seen: dict = {}

    def match(**options):
        seen.update(options)
        return real_match(chunk_size=1, workers=1, progress=lambda cvs: after_each_chunk(options), **options)

    monkeypatch.setattr(steps, "match_when_settled", match)
    return seen


def test_explanations_are_submitted_between_the_chunks_of_a_match(settings, monkeypatch):
    settings.EXPLAIN_TOP_N = 1
    monkeypatch.setattr(runner, "OVERLAP_MIN_REQUESTS", 1)
    monkeypatch.setattr(runner, "OVERLAP_CHECK_SECONDS", 0.01)
    _cvs_and_jobs()
    matched_when_the_first_batch_was_seen: list[int] = []

    def after_each_chunk(options):
        if not matched_when_the_first_batch_was_seen:
            assert _wait_for(BatchJob.objects.filter(kind="explanation").exists)
            matched_when_the_first_batch_was_seen.append(CV.objects.filter(matched_in__isnull=False).count())

    _one_cv_a_chunk(monkeypatch, after_each_chunk)
    result = run_pipeline(mock_service())

    assert result.finished
    assert matched_when_the_first_batch_was_seen == [1]  # sent after the first chunk, before the others
    top = Prediction.objects.filter(rank=1)
    assert top.count() == CVS
    assert set(top.values_list("explanation_status", flat=True)) == {ExplanationStatus.DONE}
    # Each top prediction was asked about once: nothing was sent twice by the two threads.
    sent = BatchItem.objects.filter(batch__kind="explanation").values_list("prediction_id", flat=True)
    assert sorted(sent) == sorted(top.values_list("pk", flat=True))


def test_a_failure_in_the_runners_thread_stops_the_match_after_its_chunk(settings, monkeypatch):
    settings.EXPLAIN_TOP_N = 1
    monkeypatch.setattr(runner, "OVERLAP_MIN_REQUESTS", 1)
    monkeypatch.setattr(runner, "OVERLAP_CHECK_SECONDS", 0.01)
    _cvs_and_jobs()

    real_submit_and_poll = runner._submit_and_poll

    def submission_fails_while_matching(kind, service, result, emit, max_batches=None):
        if max_batches == 1:  # the runner's submissions while the match runs
            raise RuntimeError("the provider refused the upload")
        return real_submit_and_poll(kind, service, result, emit, max_batches)

    monkeypatch.setattr(runner, "_submit_and_poll", submission_fails_while_matching)
    # The first chunk holds the match until the runner's thread has failed and asked it to stop.
    seen = _one_cv_a_chunk(monkeypatch, lambda options: _wait_for(options["stop"].is_set))

    with pytest.raises(RuntimeError, match="refused the upload"):
        run_pipeline(mock_service())
    assert seen["stop"].is_set()
    assert not [thread for thread in threading.enumerate() if thread.name == "match"]
    assert CV.objects.filter(matched_in__isnull=False).count() == 1  # the chunk in flight, then nothing


def test_a_match_that_fails_fails_the_run(monkeypatch):
    _cvs_and_jobs(cvs=1, jobs=1)

    def broken_match(**options):
        raise RuntimeError("the match statement failed")

    monkeypatch.setattr(steps, "match_when_settled", broken_match)
    with pytest.raises(RuntimeError, match="the match statement failed"):
        run_pipeline(mock_service())


def test_a_match_chunk_that_deadlocks_is_matched_again(monkeypatch, caplog):
    """An ingest holding a prediction's BatchItems while the match statement clears them can deadlock
    with it; PostgreSQL then aborts one of the two, and the match's chunk is simply run again."""
    _cvs_and_jobs(cvs=3, jobs=2)
    real_chunk = matcher.match_chunk
    calls: list[list[int]] = []

    def deadlocks_once(cv_ids, *args, **kwargs):
        calls.append(list(cv_ids))
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from DeadlockDetected("deadlock detected")
        return real_chunk(cv_ids, *args, **kwargs)

    monkeypatch.setattr(matcher, "match_chunk", deadlocks_once)
    report = matcher.match_pending_cvs(workers=1)
    assert report.cvs == 3 and calls[0] == calls[1]
    assert CV.objects.filter(matched_in__isnull=False).count() == 3
    assert "event=match_chunk_deadlock" in caplog.text


def test_other_database_errors_of_a_match_chunk_are_raised(monkeypatch):
    _cvs_and_jobs(cvs=1, jobs=1)

    def fails(cv_ids, *args, **kwargs):
        raise OperationalError("the server closed the connection")

    monkeypatch.setattr(matcher, "match_chunk", fails)
    with pytest.raises(OperationalError, match="closed the connection"):
        matcher.match_pending_cvs(workers=1)


def test_a_connection_thread_hands_back_its_error_and_closes_its_connection():
    from django.db import connection

    from core.db_threads import ConnectionThread

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = backends()

    def work():
        CV.objects.exists()  # opens this thread's own connection
        raise KeyboardInterrupt  # not an Exception: it must still come back to the waiting thread

    with pytest.raises(KeyboardInterrupt):
        ConnectionThread(work, name="probe").result()
    assert _wait_for(lambda: backends() == before)
    assert ConnectionThread(lambda: CV.objects.count(), name="probe").result() == 0
