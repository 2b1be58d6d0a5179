"""Each stage against the real database and the mock engine: parse, embed, match, explain."""

import base64

import numpy as np
import orjson
import pytest
from django.conf import settings

from core.batches.ingest import ingest_batch
from core.batches.poll import poll_open_batches
from core.batches.submit import submit_pending
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
from core.services.openai_limits import count_tokens
from core.stages.embedding import decode_embedding
from core.stages.parse import read_parse_answer
from core.stages.resume_schema import schema_violation
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import embedded_cv, embedded_job, make_cv, make_job, mock_service, unit_vector

pytestmark = pytest.mark.django_db


def test_parse_stage_turns_cv_text_into_a_valid_json_resume():
    service = mock_service()
    cvs = [make_cv(n) for n in range(3)]
    [batch] = submit_pending("cv_parse", service)
    assert batch.total == 3 and batch.endpoint == "/v1/chat/completions" and batch.model == settings.CHAT_MODEL
    assert set(batch.items.values_list("custom_id", flat=True)) == {f"cv-parse-{cv.pk}" for cv in cvs}
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.QUEUED}

    poll_open_batches(service)
    batch.refresh_from_db()
    assert batch.status == "completed" and batch.ingested_at is not None
    for cv in CV.objects.all():
        assert cv.parse_status == ParseStatus.PARSED, cv.parse_error
        assert schema_violation(cv.parsed) is None
        assert cv.parsed["basics"]["name"] == cv.raw_text.splitlines()[0]
        assert cv.parsed["basics"]["email"].endswith("@example.com")
    assert set(batch.items.values_list("status", flat=True)) == {ItemStatus.SUCCEEDED}


def test_parse_request_is_cut_to_the_token_budget(settings):
    settings.PARSE_MAX_INPUT_TOKENS = 100
    cv = make_cv(1)
    cv.raw_text += "\n" + "publication " * 5000
    cv.save()
    from core.stages.parse import CvParseKind

    body = CvParseKind().build_body(cv)
    sent = body["messages"][1]["content"]
    assert cv.raw_text.startswith(sent) and 95 <= count_tokens(sent, settings.CHAT_MODEL) <= 100
    assert body["response_format"]["json_schema"]["strict"] is True


@pytest.mark.parametrize(
    ("content", "finish_reason", "refusal", "reason"),
    [
        ("{not json", "stop", None, "answer is not valid JSON"),
        ('{"basics": {}}', "stop", None, "does not match the JSON Resume schema"),
        ('{"basics": ', "length", None, "answer truncated"),
        (None, "stop", "I cannot help with that", "model refused: I cannot help with that"),
    ],
)
def test_unusable_parse_answers_are_named(content, finish_reason, refusal, reason):
    body = {"choices": [{"finish_reason": finish_reason, "message": {"content": content, "refusal": refusal}}]}
    document, why = read_parse_answer(body)
    assert document is None and reason in why


def _tampered_output(service, batch: BatchJob, rewrite) -> str:
    """Upload a copy of the batch's output file with each line passed through ``rewrite``."""
    lines = [rewrite(line) for line in service.iter_file_lines(batch.output_file_id)]
    path = settings.BATCH_WORK_DIR / "tampered.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return service.upload_file(path).id


def test_a_parse_answer_that_is_not_json_fails_that_cv_with_the_reason_and_the_rest_goes_on(settings):
    settings.MAX_ATTEMPTS = 1
    service = mock_service()
    good, bad = make_cv(1), make_cv(2)
    [batch] = submit_pending("cv_parse", service)
    batch = BatchJob.objects.get(pk=batch.pk)
    from core.batches.poll import refresh_batch

    batch = refresh_batch(batch, service)

    def garble(line):
        if line["custom_id"] == f"cv-parse-{bad.pk}":
            line["response"]["body"]["choices"][0]["message"]["content"] = "Sure! Here is the resume: {name: "
        return line

    BatchJob.objects.filter(pk=batch.pk).update(output_file_id=_tampered_output(service, batch, garble))
    ingest_batch(batch, service)
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.parse_status == ParseStatus.PARSED
    assert bad.parse_status == ParseStatus.FAILED
    assert bad.parse_error.startswith("answer is not valid JSON")
    item = BatchItem.objects.get(custom_id=f"cv-parse-{bad.pk}")
    assert (item.status, item.error_code) == (ItemStatus.FAILED, "unusable_response")


def test_embedding_stage_stores_vectors_of_the_configured_size():
    service = mock_service()
    cv = make_cv(1, parse_status=ParseStatus.PARSED)
    cv.parsed = None
    cv.save()
    job = make_job(1, "Backend Engineer", ["Python", "Django"])
    batches = submit_pending("cv_embedding", service) + submit_pending("job_embedding", service)
    assert [b.kind for b in batches] == ["cv_embedding", "job_embedding"]
    request_line = orjson.loads(next(iter(service.client.files.content(batches[0].input_file_id).iter_lines())))
    assert request_line["custom_id"] == f"cv-{cv.pk}"
    assert request_line["body"]["dimensions"] == settings.EMBEDDING_DIMENSIONS
    assert request_line["body"]["encoding_format"] == "base64"
    poll_open_batches(service)
    for row in (CV.objects.get(pk=cv.pk), Job.objects.get(pk=job.pk)):
        assert row.embedding_status == EmbeddingStatus.EMBEDDED
        assert len(row.embedding) == settings.EMBEDDING_DIMENSIONS
        assert abs(np.linalg.norm(row.embedding) - 1.0) < 1e-4
        assert row.embedded_at is not None


def test_cvs_wait_for_parsing_before_embedding():
    make_cv(1)  # parse pending
    assert submit_pending("cv_embedding", mock_service()) == []


def test_a_vector_of_the_wrong_size_fails_its_item():
    body = {"data": [{"embedding": base64.b64encode(np.ones(12, dtype="<f4").tobytes()).decode()}]}
    vector, reason = decode_embedding(body, settings.EMBEDDING_DIMENSIONS)
    assert vector is None
    assert reason == f"embedding has 12 dimensions, expected {settings.EMBEDDING_DIMENSIONS}"

    settings_dims = settings.EMBEDDING_DIMENSIONS
    service = mock_service()
    job = make_job(1, "Nurse", ["Patient care"])
    [batch] = submit_pending("job_embedding", service)
    from core.batches.poll import refresh_batch

    batch = refresh_batch(batch, service)

    def shrink(line):
        line["response"]["body"]["data"][0]["embedding"] = base64.b64encode(np.ones(12, dtype="<f4").tobytes()).decode()
        return line

    BatchJob.objects.filter(pk=batch.pk).update(output_file_id=_tampered_output(service, batch, shrink))
    ingest_batch(batch, service)
    job.refresh_from_db()
    assert job.embedding is None
    assert job.embedding_status == EmbeddingStatus.PENDING  # retried later
    assert job.embedding_error == f"embedding has 12 dimensions, expected {settings_dims}"


@pytest.mark.django_db(transaction=True)  # staleness compares commit-time timestamps
def test_matching_ranks_jobs_by_cosine_similarity_and_replaces_stale_predictions(settings):
    settings.MATCH_TOP_K = 3
    base = unit_vector(1)
    jobs = []
    for n, weight in enumerate([0.9, 0.7, 0.5, 0.3, 0.1]):
        vector = weight * base + (1 - weight) * unit_vector(100 + n)
        jobs.append(embedded_job(n, vector / np.linalg.norm(vector)))
    cv = embedded_cv(1, base)
    report = match_pending_cvs()
    assert report.cvs == 1 and report.predictions == 3
    predictions = list(Prediction.objects.filter(cv=cv).order_by("rank"))
    assert [p.job_id for p in predictions] == [jobs[0].pk, jobs[1].pk, jobs[2].pk]
    assert [p.rank for p in predictions] == [1, 2, 3]
    expected = [float(np.dot(base, np.asarray(j.embedding))) for j in jobs[:3]]
    assert [p.score for p in predictions] == pytest.approx(expected, abs=1e-5)
    assert not cvs_needing_match().exists()

    # A better job arrives: the CV is matched again and its worst prediction is dropped.
    embedded_job(10, base)
    assert list(cvs_needing_match()) == [cv]
    report = match_pending_cvs()
    assert report.removed == 1
    assert list(Prediction.objects.filter(cv=cv).order_by("rank").values_list("job__external_id", flat=True)) == [
        "JOB-10",
        "JOB-0",
        "JOB-1",
    ]


def test_inactive_jobs_are_not_matched(settings):
    base = unit_vector(3)
    embedded_job(1, base, is_active=False)
    active = embedded_job(2, unit_vector(4))
    embedded_cv(1, base)
    match_pending_cvs()
    assert list(Prediction.objects.values_list("job_id", flat=True)) == [active.pk]


def test_explanations_go_to_the_top_predictions_only(settings):
    settings.EXPLAIN_TOP_N = 2
    service = mock_service()
    base = unit_vector(5)
    for n in range(4):
        vector = (1 - n * 0.2) * base + n * 0.2 * unit_vector(50 + n)
        embedded_job(n, vector / np.linalg.norm(vector))
    cv = embedded_cv(1, base)
    cv.parsed = None
    cv.save()
    match_pending_cvs()
    [batch] = submit_pending("explanation", service)
    top = list(Prediction.objects.filter(cv=cv, rank__lte=2))
    assert set(batch.items.values_list("custom_id", flat=True)) == {f"explain-{p.cv_id}-{p.job_id}" for p in top}
    poll_open_batches(service)
    for prediction in Prediction.objects.filter(cv=cv):
        if prediction.rank <= 2:
            assert prediction.explanation_status == ExplanationStatus.DONE
            assert len(prediction.explanation) > 20
        else:
            assert prediction.explanation_status == ExplanationStatus.PENDING and prediction.explanation == ""


def test_the_whole_pipeline_ranks_relevant_jobs_first(settings):
    settings.EXPLAIN_TOP_N = 1
    service = mock_service()
    make_cv(1, skills="Python, Django, PostgreSQL, REST APIs, Celery", label="Backend Engineer")
    make_cv(2, skills="Patient assessment, IV therapy, Wound care, Epic EHR, Triage", label="Registered Nurse")
    make_job(
        1,
        "Backend Engineer",
        ["Python", "Django", "PostgreSQL", "Celery"],
        "Build REST APIs in Python and Django on PostgreSQL.",
    )
    make_job(
        2,
        "ICU Nurse",
        ["Patient assessment", "IV therapy", "Triage"],
        "Care for critically ill patients: assessment, IV therapy, wound care, triage.",
    )
    result = run_pipeline(service)
    assert result.finished
    top = {p.cv.source_name: p.job.external_id for p in Prediction.objects.filter(rank=1).select_related("cv", "job")}
    assert top == {"cv-1.txt": "JOB-1", "cv-2.txt": "JOB-2"}
    explanation = Prediction.objects.get(rank=1, job__external_id="JOB-1").explanation
    assert "Python" in explanation or "Django" in explanation


@pytest.mark.django_db(transaction=True)
def test_a_prediction_replaced_while_its_explanation_is_in_flight(settings):
    settings.MATCH_TOP_K = 1
    settings.EXPLAIN_TOP_N = 1
    service = mock_service()
    base = unit_vector(8)
    embedded_job(1, 0.6 * base + 0.4 * unit_vector(9))
    cv = embedded_cv(1, base)
    match_pending_cvs()
    [batch] = submit_pending("explanation", service)
    old = Prediction.objects.get(cv=cv)
    assert batch.items.get().prediction_id == old.pk

    embedded_job(2, base)  # a better job: the queued prediction drops out of the top 1
    match_pending_cvs()
    assert list(Prediction.objects.filter(cv=cv).values_list("job__external_id", flat=True)) == ["JOB-2"]
    item = batch.items.get()
    assert item.prediction_id is None and item.custom_id == f"explain-{cv.pk}-{old.job_id}"

    poll_open_batches(service)
    item.refresh_from_db()
    assert (item.status, item.error_code) == (ItemStatus.FAILED, "row_deleted")
    assert Prediction.objects.get(cv=cv).explanation_status == ExplanationStatus.PENDING
