"""A waiting driver polls as soon as a batch can have finished, not on a fixed interval.

The mock's latency is known, so its batches are polled right when they finish; OpenAI's is not, so its
batches are polled after a tenth of their age (seconds at first, minutes later); a batch in poll backoff
is not polled before its backoff ends. The figures are computed for a given moment, so no test sleeps.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import BatchJob
from core.workflow.pacing import seconds_until_next_poll
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import make_cv, mock_service

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def open_batch(backend: str, age: float, next_poll_in: float | None = None) -> BatchJob:
    return BatchJob.objects.create(
        kind="cv_parse",
        backend=backend,
        endpoint="/v1/chat/completions",
        provider_batch_id=f"batch_{backend}_{age}_{next_poll_in}",
        status="in_progress",
        submitted_at=NOW - timedelta(seconds=age),
        next_poll_at=None if next_poll_in is None else NOW + timedelta(seconds=next_poll_in),
    )


def test_with_nothing_in_flight_the_wait_is_the_ceiling():
    """What is left then waits on time (a full queue's retry) or on another worker: no busy loop."""
    assert seconds_until_next_poll(300, now=NOW) == pytest.approx(300)


def test_a_mock_batch_is_polled_when_its_latency_has_passed(settings):
    settings.MOCK_BATCH_LATENCY = 3.0
    open_batch("mock", age=1.0)
    assert seconds_until_next_poll(300, now=NOW) == pytest.approx(2.0)


def test_an_overdue_batch_is_polled_ever_less_often(settings):
    settings.MOCK_BATCH_LATENCY = 3.0
    open_batch("mock", age=23.0)  # 20 s past its latency (another worker may be ingesting it)
    assert seconds_until_next_poll(300, now=NOW) == pytest.approx(2.0)


@pytest.mark.parametrize(("age", "expected"), [(0, 2.0), (30, 3.0), (600, 60.0), (3600, 300.0)])
def test_an_openai_batch_is_polled_after_a_tenth_of_its_age_within_the_ceiling(age, expected):
    open_batch("openai", age=age)
    assert seconds_until_next_poll(300, now=NOW) == pytest.approx(expected)


def test_a_batch_in_poll_backoff_waits_for_its_backoff(settings):
    settings.MOCK_BATCH_LATENCY = 0.0
    open_batch("mock", age=1000.0, next_poll_in=45.0)
    assert seconds_until_next_poll(300, now=NOW) == pytest.approx(45.0)


def test_the_earliest_batch_sets_the_pace(settings):
    settings.MOCK_BATCH_LATENCY = 5.0
    open_batch("openai", age=3600)
    open_batch("mock", age=1000.0, next_poll_in=45.0)
    open_batch("mock", age=4.0)
    assert seconds_until_next_poll(300, now=NOW) == pytest.approx(1.0)


def test_run_pipeline_waits_for_the_mocks_latency_not_its_interval(settings):
    """With a 300 s interval, each wait is at most the mock's latency: the run ends in seconds."""
    settings.MOCK_BATCH_LATENCY = 1.0
    for n in range(3):
        make_cv(n)
    waits = []
    result = run_pipeline(
        mock_service(latency=1.0),
        wait=True,
        poll_interval=300,
        on_event=lambda event: waits.append(event.detail["seconds"]) if event.stage == "wait" else None,
    )
    assert result.finished
    assert waits, "the batches were in flight for their latency: the run waited for them"
    assert max(waits) <= 1.0
