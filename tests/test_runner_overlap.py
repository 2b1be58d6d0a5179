"""run_pipeline sends the explanations of CVs already matched while the rest are still being matched.

The match runs in a thread of its own (its statements run in PostgreSQL, on other connections); the
runner's thread submits and polls the kinds after matching meanwhile. Real database, real mock engine.
"""

import threading
import time

import pytest

from core.models import BatchItem, BatchJob, ExplanationStatus, Prediction
from core.workflow import runner, steps
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import embedded_cv, embedded_job, mock_service, unit_vector

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS_TO_SEE_A_BATCH = 30.0


def _cvs_and_jobs(cvs: int = 4, jobs: int = 3) -> None:
    for n in range(1, jobs + 1):
        embedded_job(n, unit_vector(100 + n))
    for n in range(1, cvs + 1):
        embedded_cv(n, unit_vector(n))


def test_explanations_are_submitted_while_matching_still_runs(settings, monkeypatch):
    settings.EXPLAIN_TOP_N = 1
    monkeypatch.setattr(runner, "OVERLAP_MIN_REQUESTS", 2)
    monkeypatch.setattr(runner, "OVERLAP_CHECK_SECONDS", 0.01)
    _cvs_and_jobs()
    real_match = steps.match_when_settled
    explanation_batches_seen_mid_match: list[int] = []

    def match_that_outlasts_the_submission(**options):
        """The real match, which then stays "running" until the runner's thread has sent a batch."""
        report = real_match(**options)
        if report is not None and report.cvs:
            explanation_batches = BatchJob.objects.filter(kind="explanation")
            deadline = time.monotonic() + SECONDS_TO_SEE_A_BATCH
            while not explanation_batches.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            explanation_batches_seen_mid_match.append(explanation_batches.count())
        return report

    monkeypatch.setattr(steps, "match_when_settled", match_that_outlasts_the_submission)
    result = run_pipeline(mock_service())

    assert result.finished
    assert explanation_batches_seen_mid_match == [1]
    top = Prediction.objects.filter(rank=1)
    assert top.count() == 4
    assert set(top.values_list("explanation_status", flat=True)) == {ExplanationStatus.DONE}
    # Each top prediction was asked about once: nothing was sent twice by the two threads.
    sent = BatchItem.objects.filter(batch__kind="explanation").values_list("prediction_id", flat=True)
    assert sorted(sent) == sorted(top.values_list("pk", flat=True))


def test_a_match_that_fails_fails_the_run_and_leaves_no_thread_behind(monkeypatch):
    _cvs_and_jobs(cvs=1, jobs=1)

    def broken_match(**options):
        raise RuntimeError("the match statement failed")

    monkeypatch.setattr(steps, "match_when_settled", broken_match)
    with pytest.raises(RuntimeError, match="the match statement failed"):
        run_pipeline(mock_service())
    assert not [thread for thread in threading.enumerate() if thread.name == "match"]
    assert not Prediction.objects.exists()
