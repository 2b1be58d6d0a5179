"""Nothing lost, nothing done twice: ingestion, submission, retries, expiry and cancellation."""


import orjson
import pytest

from core.batches import ingest as ingest_module
from core.batches.ingest import ingest_batch
from core.batches.poll import poll_open_batches, refresh_batch
from core.batches.submit import submit_pending
from core.models import CV, BatchItem, BatchJob, EmbeddingStatus, ItemStatus, Job, ParseStatus
from tests.pipeline_helpers import make_cv, make_job, mock_service, side_by_side


def _state():
    """Everything ingestion writes, in a comparable form keyed by custom_id."""
    cvs = {
        f"cv-parse-{pk}": (status, attempts, error, orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS))
        for pk, status, attempts, error, parsed in CV.objects.values_list(
            "pk", "parse_status", "parse_attempts", "parse_error", "parsed"
        )
    }
    items = {
        cid: (status, code, attempt)
        for cid, status, code, attempt in BatchItem.objects.values_list("custom_id", "status", "error_code", "attempt")
    }
    tokens = list(BatchJob.objects.values_list("input_tokens", "output_tokens"))
    return {"cvs": cvs, "items": items, "tokens": tokens}


def _expected(service, batch):
    """The state one clean ingest must leave, derived from the batch's own output and error files."""
    cvs, items = {}, {}
    input_tokens = output_tokens = 0
    for line in service.iter_file_lines(batch.output_file_id):
        body = line["response"]["body"]
        input_tokens += body["usage"]["prompt_tokens"]
        output_tokens += body["usage"]["completion_tokens"]
        document = orjson.loads(body["choices"][0]["message"]["content"])
        cvs[line["custom_id"]] = ("parsed", 1, "", orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
        items[line["custom_id"]] = ("succeeded", "", 1)
    for line in service.iter_file_lines(batch.error_file_id):
        error = line["response"]["body"]["error"]
        status = line["response"]["status_code"]
        message = f"HTTP {status}: {error['message']}"
        cvs[line["custom_id"]] = ("pending", 1, message, orjson.dumps(None))
        items[line["custom_id"]] = ("failed", error["code"], 1)
    return {"cvs": cvs, "items": items, "tokens": [(input_tokens, output_tokens)]}


def _finished_parse_batch(n_cvs: int, failure_rate: float = 0.3, seed: int = 7):
    service = mock_service(failure_rate=failure_rate, seed=seed)
    for n in range(n_cvs):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    return service, refresh_batch(batch, service)


@pytest.mark.django_db
def test_a_second_ingest_changes_nothing():
    service, batch = _finished_parse_batch(40)
    first = ingest_batch(batch, service)
    assert first.succeeded + first.failed == 40 and first.succeeded > 0 and first.failed > 0
    assert _state() == _expected(service, batch)
    assert ingest_batch(batch, service).skipped
    BatchJob.objects.filter(pk=batch.pk).update(ingested_at=None)  # even forced, nothing is applied twice
    third = ingest_batch(batch, service)
    assert (third.succeeded, third.failed, third.not_run) == (0, 0, 0)
    assert _state() == _expected(service, batch)


class Crash(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_crash_mid_ingest_and_its_retry_equal_one_clean_ingest(monkeypatch):
    service, batch = _finished_parse_batch(30)
    monkeypatch.setattr(ingest_module, "INGEST_CHUNK", 7)
    kind_class = type(ingest_module.get_kind("cv_parse"))
    real_apply = kind_class.apply
    calls = {"n": 0}

    def crashing_apply(self, results):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash("worker killed mid-ingest")
        return real_apply(self, results)

    monkeypatch.setattr(kind_class, "apply", crashing_apply)
    with pytest.raises(Crash):
        ingest_batch(batch, service)
    partial = BatchItem.objects.filter(batch=batch).exclude(status=ItemStatus.QUEUED).count()
    assert 0 < partial < 30  # the first chunks committed, the crashed one rolled back
    assert BatchJob.objects.get(pk=batch.pk).ingested_at is None

    ingest_batch(batch, service)
    assert _state() == _expected(service, batch)
    assert BatchJob.objects.get(pk=batch.pk).ingested_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_workers_ingesting_at_once_apply_each_result_once():
    service, batch = _finished_parse_batch(60)
    reports = side_by_side(lambda: ingest_batch(BatchJob.objects.get(pk=batch.pk), service))
    applied = sum(r.succeeded + r.failed for r in reports)
    assert applied == 60
    assert _state() == _expected(service, batch)


@pytest.mark.django_db(transaction=True)
def test_two_submitters_at_once_never_send_a_row_twice():
    for n in range(400):
        make_job(n, f"Job {n}", ["x"])
    service = mock_service()
    results = side_by_side(lambda: submit_pending("job_embedding", service))
    assert len(results) == 2  # both submitters ran to the end, neither raised
    custom_ids = list(BatchItem.objects.values_list("custom_id", flat=True))
    assert len(custom_ids) == len(set(custom_ids)) == 400
    assert Job.objects.filter(embedding_status=EmbeddingStatus.QUEUED).count() == 400
    assert set(Job.objects.values_list("embedding_attempts", flat=True)) == {1}


@pytest.mark.django_db
def test_a_failed_upload_leaves_nothing_queued(monkeypatch):
    service = mock_service()
    make_cv(1)

    def refuse(path):
        raise OSError("disk full")

    monkeypatch.setattr(service, "upload_file", refuse)
    with pytest.raises(OSError):
        submit_pending("cv_parse", service)
    assert CV.objects.get().parse_status == ParseStatus.PENDING
    assert not BatchJob.objects.exists() and not BatchItem.objects.exists()


@pytest.mark.django_db
def test_a_refused_create_leaves_nothing_queued(monkeypatch):
    import openai

    service = mock_service()
    make_cv(1)
    monkeypatch.setattr("django.conf.settings.CHAT_MODEL", "gpt-4o-mini")

    def refuse(*args, **kwargs):
        return service.client.batches.create(
            input_file_id="file-" + "0" * 24, endpoint="/v1/chat/completions", completion_window="24h"
        )

    monkeypatch.setattr(service, "create_batch", refuse)
    with pytest.raises(openai.OpenAIError):
        submit_pending("cv_parse", service)
    assert CV.objects.get().parse_status == ParseStatus.PENDING
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
def test_failed_requests_are_retried_until_max_attempts_then_keep_their_last_error(settings):
    settings.MAX_ATTEMPTS = 3
    service = mock_service(failure_rate=1.0)
    cv = make_cv(1)
    for attempt in (1, 2, 3):
        [batch] = submit_pending("cv_parse", service)
        assert batch.items.get().attempt == attempt
        poll_open_batches(service)
        cv.refresh_from_db()
        assert cv.parse_attempts == attempt
    assert cv.parse_status == ParseStatus.FAILED
    assert cv.parse_error.startswith("HTTP 5") or "rate" in cv.parse_error.lower()
    assert submit_pending("cv_parse", service) == []
    assert list(BatchItem.objects.order_by("attempt").values_list("attempt", "status")) == [
        (1, ItemStatus.FAILED),
        (2, ItemStatus.FAILED),
        (3, ItemStatus.FAILED),
    ]


@pytest.mark.django_db
def test_an_expired_batch_returns_its_unfinished_items_without_using_an_attempt(settings):
    settings.MOCK_BATCH_EXPIRE = True
    service = mock_service()
    for n in range(10):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    poll_open_batches(service)
    batch.refresh_from_db()
    assert batch.status == "expired" and batch.ingested_at is not None
    not_run = BatchItem.objects.filter(batch=batch, status=ItemStatus.NOT_RUN)
    done = BatchItem.objects.filter(batch=batch, status=ItemStatus.SUCCEEDED)
    assert not_run.count() + done.count() == 10 and not_run.count() > 0
    assert set(not_run.values_list("error_code", flat=True)) <= {"batch_expired", "not_run"}
    for cv in CV.objects.filter(pk__in=not_run.values("cv_id")):
        assert (cv.parse_status, cv.parse_attempts) == (ParseStatus.PENDING, 0)

    settings.MOCK_BATCH_EXPIRE = False
    [retry] = submit_pending("cv_parse", mock_service())
    assert retry.total == not_run.count()


@pytest.mark.django_db
def test_a_cancelled_batch_returns_its_items_to_pending():
    service = mock_service(latency=30)
    for n in range(5):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    service.cancel_batch(batch.provider_batch_id)
    for _ in range(50):
        poll_open_batches(service)
        batch.refresh_from_db()
        if batch.ingested_at:
            break
    assert batch.status == "cancelled"
    assert set(CV.objects.values_list("parse_status", "parse_attempts")) == {(ParseStatus.PENDING, 0)}


@pytest.mark.django_db
def test_a_batch_that_fails_validation_returns_all_items_with_the_reason(settings, caplog):
    settings.MOCK_BATCH_ENQUEUED_TOKEN_LIMIT = 10
    service = mock_service()
    for n in range(3):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    with caplog.at_level("WARNING", logger="recruit.batches"):
        poll_open_batches(service)
    batch.refresh_from_db()
    assert batch.status == "failed" and batch.errors[0]["code"] == "token_limit_exceeded"
    for cv in CV.objects.all():
        assert cv.parse_status == ParseStatus.PENDING
        assert "token_limit_exceeded" in cv.parse_error
    # Larger than the organisation's limit by itself, so no wait would let it in: the attempt counts (a
    # batch refused for a queue that is merely full does not: tests/test_queue_full.py).
    assert {cv.parse_attempts for cv in CV.objects.all()} == {1}
    assert "event=validation_failed" in caplog.text and "token_limit_exceeded" in caplog.text
