"""The organisation's queue: OpenAI's enqueued-token limit counts every batch in flight for a model.

A batch that finds the queue full fails validation (``token_limit_exceeded``) before anything runs: its
rows go back to pending with their attempt given back, and the model's work is not submitted again until
one of our batches in flight has ended (or, when none of ours is, after QUEUE_FULL_RETRY_SECONDS). With
BATCH_ENQUEUED_TOKEN_BUDGET set, batches are cut to what ours in flight leave, so the queue is not
overrun by us at all. The mock enforces the organisation-wide limit on its own test clock: no sleeping.
"""

import pytest

from core.batches.poll import poll_open_batches
from core.batches.submit import submit_pending
from core.models import CV, BatchItem, BatchJob, ParseStatus
from core.services.batch_service import BatchService
from core.services.openai_limits import estimate_request_tokens
from core.stages.parse import CvParseKind
from tests.mock_batch_helpers import upload, write_jsonl
from tests.pipeline_helpers import make_cv

pytestmark = pytest.mark.django_db

LATENCY = 1000.0  # seconds of the mock's clock a batch stays in flight
VALIDATED = 200.0  # by then a batch has passed (or failed) validation, 10% of its walk


def request_tokens(cv: CV) -> int:
    return estimate_request_tokens("/v1/chat/completions", CvParseKind().build_body(cv))


@pytest.fixture
def cvs(settings):
    settings.BATCH_MAX_REQUESTS = {**settings.BATCH_MAX_REQUESTS, "cv_parse": 2}
    return [make_cv(n) for n in range(4)]


def queue(mock_client_factory, enqueued_token_limit):
    client = mock_client_factory(latency=LATENCY, failure_rate=0.0, enqueued_token_limit=enqueued_token_limit)
    client.mock.freeze_clock()
    return client, BatchService(client=client)


def settle(client, service, seconds):
    client.mock.advance_clock(seconds)
    return poll_open_batches(service)


def test_a_batch_refused_for_a_full_queue_gives_its_attempts_back_and_waits_for_ours(cvs, mock_client_factory):
    two_requests = sum(sorted(map(request_tokens, cvs))[-2:])
    client, service = queue(mock_client_factory, enqueued_token_limit=two_requests * 3 // 2)

    first, second = submit_pending("cv_parse", service)  # the app does not know the organisation's limit
    settle(client, service, VALIDATED)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "in_progress"
    assert second.status == "failed" and second.errors[0]["code"] == "token_limit_exceeded"
    refused = CV.objects.filter(batch_items__batch=second)
    assert {(cv.parse_status, cv.parse_attempts) for cv in refused} == {(ParseStatus.PENDING, 0)}
    assert set(BatchItem.objects.filter(batch=second).values_list("error_code", flat=True)) == {"queue_full"}

    assert submit_pending("cv_parse", service) == []  # our first batch is still in the queue

    settle(client, service, LATENCY)  # it ends: the queue has room again
    [third] = submit_pending("cv_parse", service)
    settle(client, service, LATENCY + 1)
    third.refresh_from_db()
    assert third.status == "completed" and third.failed == 0
    assert {(cv.parse_status, cv.parse_attempts) for cv in CV.objects.all()} == {(ParseStatus.PARSED, 1)}


def test_a_queue_full_of_other_batches_is_tried_again_after_a_while(cvs, mock_client_factory, settings, tmp_path):
    client, service = queue(mock_client_factory, enqueued_token_limit=sum(map(request_tokens, cvs)))
    # Someone else's batch, as large as the limit, in flight on the same organisation.
    foreign_lines = [
        {
            "custom_id": f"other-{cv.pk}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": CvParseKind().build_body(cv),
        }
        for cv in cvs
    ]
    uploaded = upload(client, write_jsonl(tmp_path / "foreign.jsonl", foreign_lines))
    foreign = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    client.mock.advance_clock(VALIDATED)
    assert client.batches.retrieve(foreign.id).status == "in_progress"

    settings.QUEUE_FULL_RETRY_SECONDS = 3600
    refused = submit_pending("cv_parse", service)
    settle(client, service, VALIDATED)
    assert {BatchJob.objects.get(pk=batch.pk).status for batch in refused} == {"failed"}
    assert submit_pending("cv_parse", service) == []  # none of ours will free the queue: wait the hour

    settings.QUEUE_FULL_RETRY_SECONDS = 0
    assert submit_pending("cv_parse", service)
    assert set(CV.objects.values_list("parse_attempts", flat=True)) == {1}  # the refusals cost no attempt


def test_batches_are_cut_to_what_ours_in_flight_leave_of_the_budget(cvs, mock_client_factory, settings):
    per_request = max(map(request_tokens, cvs))
    settings.BATCH_ENQUEUED_TOKEN_BUDGET = per_request * 5 // 2
    client, service = queue(mock_client_factory, enqueued_token_limit=per_request * 5 // 2)

    [first] = submit_pending("cv_parse", service)
    assert first.total == 2  # half a request's room is left: the next batch waits for this one
    assert submit_pending("cv_parse", service) == []

    settle(client, service, LATENCY + 1)
    [second] = submit_pending("cv_parse", service)
    settle(client, service, LATENCY + 1)
    assert not BatchJob.objects.filter(status="failed").exists()
    assert second.total == 2
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PARSED}
