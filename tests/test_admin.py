"""The operator's admin through Django's test client: lists, detail pages, operations, downloads, dashboard.

Every batch here is real: submitted to and polled from the mock engine on this test's own root, which
is also where the admin's BatchService() reads files and statuses.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db.models import Count
from django.urls import reverse

from core.admin import display
from core.admin.batches import ITEMS_PER_PAGE
from core.admin.display import money
from core.admin.item_pages import STATUS_ORDER
from core.batches.poll import poll_open_batches
from core.batches.submit import submit_pending
from core.models import (
    CV,
    BatchItem,
    BatchJob,
    BatchStatus,
    EmbeddingStatus,
    ExplanationStatus,
    ItemStatus,
    Job,
    ParseStatus,
    Prediction,
)
from core.operations.score_bands import calibrate, current_bands
from core.selectors.batches import summarize_batches
from core.selectors.match_labels import band_ranges
from core.services.batch_service import BatchService
from core.workflow.runner import run_pipeline
from tests.admin_helpers import matched_and_explained, parse_batch_with_given_up_rows
from tests.pipeline_helpers import make_cv, make_job, mock_service

pytestmark = pytest.mark.django_db

CORE_MODELS = [BatchJob, BatchItem, CV, Job, Prediction]


def changelist(model) -> str:
    return reverse(f"admin:core_{model._meta.model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:core_{obj._meta.model_name}_change", args=[obj.pk])


def operate(obj, name: str) -> str:
    return reverse(f"admin:core_{obj._meta.model_name}_operate", args=[obj.pk, name])


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- registration and read-mostly pages ----------------------------------------------------------
@pytest.mark.parametrize("model", CORE_MODELS, ids=lambda model: model.__name__)
def test_every_model_is_registered_and_read_only(admin_client, model):
    assert admin.site.is_registered(model)
    model_admin = admin.site._registry[model]
    assert model_admin.show_full_result_count is False
    assert admin_client.get(reverse(f"admin:core_{model._meta.model_name}_add")).status_code == 403
    page = admin_client.get(changelist(model))
    assert page.status_code == 200
    assert reverse(f"admin:core_{model._meta.model_name}_add") not in text(page)


def test_the_admin_index_links_to_the_dashboard(admin_client):
    page = admin_client.get(reverse("admin:index"))
    assert f'href="{reverse("recruit-dashboard")}"' in text(page)
    # No "View site" link: there is no public site, "/" is a 404.
    assert "View site" not in text(page)


def test_staff_who_may_not_view_batches_get_no_dashboard_link(client):
    from tests.admin_helpers import PASSWORD, staff_user

    staff_user("clerk", superuser=False)
    client.login(username="clerk", password=PASSWORD)
    page = client.get(reverse("admin:index"))
    assert page.status_code == 200 and reverse("recruit-dashboard") not in text(page)


def test_cancel_from_the_list_asks_first(admin_client):
    for n in range(2):
        make_cv(n)
    [batch] = submit_pending("cv_parse", mock_service(latency=3600))
    data = {"action": "cancel_batches", "_selected_action": [batch.pk]}
    asked = admin_client.post(changelist(BatchJob), data)
    assert asked.status_code == 200 and "Cancel this batch?" in text(asked)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALIDATING
    done = admin_client.post(changelist(BatchJob), {**data, "confirmed": "yes"}, follow=True)
    batch.refresh_from_db()
    assert batch.status in (BatchStatus.CANCELLING, BatchStatus.CANCELLED)
    assert messages_of(done)[0].startswith(f"{batch}: now ")


# --- BatchJob ------------------------------------------------------------------------------------
def test_batch_list_shows_status_badge_progress_cost_and_filters(admin_client):
    batch = parse_batch_with_given_up_rows()
    page = admin_client.get(changelist(BatchJob))
    html = text(page)
    assert batch.provider_batch_id in html
    # A completed batch with failed requests does not wear the green "Completed" badge.
    assert f'class="rc-badge rc-warn" data-status="expired">Completed, {batch.failed} failed<' in html
    assert f'<span class="rc-progress-text">{batch.completed} / {batch.failed} / {batch.total}</span>' in html
    assert money(batch.estimated_cost) in html
    assert display.size(batch.input_bytes) in html and "KB" in display.size(batch.input_bytes)
    for name in ("kind", "status", "backend"):
        assert f"?{name}__exact=" in html
    assert batch.provider_batch_id in text(admin_client.get(changelist(BatchJob) + "?kind__exact=cv_parse"))
    assert batch.provider_batch_id not in text(admin_client.get(changelist(BatchJob) + "?kind__exact=explanation"))
    assert batch.provider_batch_id not in text(admin_client.get(changelist(BatchJob) + "?status__exact=failed"))
    assert batch.provider_batch_id in text(admin_client.get(changelist(BatchJob) + f"?q={batch.provider_batch_id}"))


def test_batch_detail_shows_timeline_failed_items_first_and_downloads(admin_client):
    batch = parse_batch_with_given_up_rows(cvs=12)
    page = admin_client.get(change(batch))
    html = text(page)
    assert page.context["recruit_operations"]
    timeline = page.context["timeline"]
    events = [event["event"] for event in timeline]
    assert {"created here", "submitted", "results ingested"} <= set(events)
    moments = [event["at"].replace(microsecond=0) for event in timeline]
    assert moments == sorted(moments)
    assert events.index("submitted") < events.index("results ingested")
    assert {"in progress", "completed", "expires"} <= set(events)
    statuses = [item.status for item in page.context["items_page"]]
    failed = statuses.count(ItemStatus.FAILED)
    assert failed == batch.failed and statuses[:failed] == [ItemStatus.FAILED] * failed
    first_failed = page.context["items_page"][0]
    assert first_failed.error_code and first_failed.error_message in html
    assert change(first_failed.cv) in html
    for which in ("input", "output", "error"):
        assert reverse("admin:core_batchjob_download", args=[batch.pk, which]) in html
    # Not offered: a finished batch cannot be polled or cancelled.
    labels = [operation["name"] for operation in page.context["recruit_operations"]]
    assert labels == ["retry_failed_items", "reingest"]
    only_failed = admin_client.get(change(batch) + "?items_status=failed")
    assert {item.status for item in only_failed.context["items_page"]} == {ItemStatus.FAILED}


def test_batch_detail_paginates_items(admin_client):
    service = mock_service()
    for n in range(60):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    first = admin_client.get(change(batch))
    assert len(first.context["items_page"]) == 50 and first.context["items_page"].paginator.num_pages == 2
    second = admin_client.get(change(batch) + "?items_page=2")
    assert len(second.context["items_page"]) == 10
    seen = {item.pk for item in first.context["items_page"]} | {item.pk for item in second.context["items_page"]}
    assert len(seen) == 60


def test_batch_detail_pages_list_every_item_once_failed_first(admin_client):
    from core.admin.item_pages import STATUS_ORDER

    batch = parse_batch_with_given_up_rows(cvs=130)
    statuses = set(batch.items.values_list("status", flat=True))
    assert {ItemStatus.FAILED, ItemStatus.SUCCEEDED} <= statuses
    rank = {status: index for index, status in enumerate(STATUS_ORDER)}
    expected = sorted(batch.items.values_list("status", "pk"), key=lambda row: (rank[row[0]], row[1]))
    shown = []
    for number in (1, 2, 3):
        page = admin_client.get(change(batch) + f"?items_page={number}").context["items_page"]
        shown += [(item.status, item.pk) for item in page]
    assert shown == expected
    # Page 2 of the failed items only.
    failed = [pk for status, pk in expected if status == ItemStatus.FAILED]
    if len(failed) > 50:
        page = admin_client.get(change(batch) + "?items_status=failed&items_page=2").context["items_page"]
        assert [item.pk for item in page] == failed[50:100]


def test_batch_detail_shows_the_providers_batch_errors(admin_client, settings):
    settings.MOCK_BATCH_ENQUEUED_TOKEN_LIMIT = 10
    service = mock_service()
    for n in range(3):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    poll_open_batches(service)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    page = admin_client.get(change(batch))
    assert "token_limit_exceeded" in text(page)
    assert page.context["batch_error_count"] == len(batch.errors) >= 1
    assert {item.status for item in page.context["items_page"]} == {ItemStatus.NOT_RUN}


def test_download_streams_the_batch_files(admin_client):
    batch = parse_batch_with_given_up_rows()
    service = BatchService()
    for which, file_id in (("input", batch.input_file_id), ("output", batch.output_file_id),
                           ("error", batch.error_file_id)):
        response = admin_client.get(reverse("admin:core_batchjob_download", args=[batch.pk, which]))
        assert response.status_code == 200 and response.streaming
        assert response["Content-Disposition"] == f'attachment; filename="{batch.provider_batch_id}_{which}.jsonl"'
        assert b"".join(response.streaming_content) == b"".join(service.file_content(file_id))
    error_lines = b"".join(
        admin_client.get(reverse("admin:core_batchjob_download", args=[batch.pk, "error"])).streaming_content
    ).splitlines()
    assert len(error_lines) == batch.failed


def test_download_of_a_file_the_batch_does_not_have_is_404(admin_client):
    service = mock_service()
    make_cv(1)
    [batch] = submit_pending("cv_parse", service)
    poll_open_batches(service)
    batch.refresh_from_db()
    assert batch.error_file_id == ""
    assert admin_client.get(reverse("admin:core_batchjob_download", args=[batch.pk, "error"])).status_code == 404
    assert admin_client.get(reverse("admin:core_batchjob_download", args=[batch.pk, "secrets"])).status_code == 404
    assert admin_client.get(reverse("admin:core_batchjob_download", args=[batch.pk + 99, "input"])).status_code == 404


def test_download_of_a_file_the_provider_lost_is_404(admin_client, settings):
    batch = parse_batch_with_given_up_rows()
    BatchService().client.files.delete(batch.output_file_id)
    response = admin_client.get(reverse("admin:core_batchjob_download", args=[batch.pk, "output"]))
    assert response.status_code == 404


# --- BatchJob operations ---------------------------------------------------------------------------
def test_retry_failed_items_sends_given_up_rows_back_once(admin_client):
    batch = parse_batch_with_given_up_rows()
    given_up = CV.objects.filter(parse_status=ParseStatus.FAILED).count()
    response = admin_client.post(operate(batch, "retry_failed_items"), follow=True)
    assert response.redirect_chain[-1][0] == change(batch)
    assert messages_of(response) == [
        f"{batch}: {given_up} rows sent back to pending with fresh attempts; the next submit batches them"
    ]
    assert set(CV.objects.filter(pk__in=batch.items.filter(status="failed").values("cv")).values_list(
        "parse_status", "parse_attempts")) == {(ParseStatus.PENDING, 0)}
    assert LogEntry.objects.filter(object_id=str(batch.pk), change_message__startswith="retry failed items").exists()
    again = admin_client.post(operate(batch, "retry_failed_items"), follow=True)
    assert "no rows to retry" in messages_of(again)[0]


def test_changelist_action_retries_several_batches(admin_client):
    batch = parse_batch_with_given_up_rows()
    response = admin_client.post(
        changelist(BatchJob), {"action": "retry_failed_items", "_selected_action": [batch.pk]}, follow=True
    )
    assert "rows sent back to pending" in messages_of(response)[0]
    assert not CV.objects.filter(parse_status=ParseStatus.FAILED).exists()


def test_poll_now_completes_and_ingests_an_open_batch(admin_client):
    for n in range(4):
        make_cv(n)
    [batch] = submit_pending("cv_parse", mock_service())
    page = admin_client.get(change(batch))
    assert [operation["name"] for operation in page.context["recruit_operations"]] == ["poll_now", "cancel_batches"]
    response = admin_client.post(operate(batch, "poll_now"), follow=True)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and batch.ingested_at is not None
    # One message: the batch this poll finished is not also reported as "already ingested".
    [message] = messages_of(response)
    assert message.startswith(f"{batch}: completed; ingested 4 succeeded")
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PARSED}
    again = admin_client.post(operate(batch, "poll_now"), follow=True)
    assert messages_of(again) == [f"Already ingested, nothing to poll: {batch.provider_batch_id}"]


def test_cancel_then_poll_returns_the_rows_to_pending(admin_client):
    for n in range(3):
        make_cv(n)
    [batch] = submit_pending("cv_parse", mock_service(latency=3600))
    confirmation = admin_client.post(operate(batch, "cancel_batches"))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALIDATING, "nothing is cancelled before the operator confirms"
    assert confirmation.status_code == 200 and "Cancel this batch?" in text(confirmation)
    assert batch.provider_batch_id in text(confirmation) and 'name="confirmed" value="yes"' in text(confirmation)
    response = admin_client.post(
        operate(batch, "cancel_batches"),
        {"confirmed": "yes", "action": "cancel_batches", "_selected_action": [batch.pk]},
        follow=True,
    )
    batch.refresh_from_db()
    assert batch.status in (BatchStatus.CANCELLING, BatchStatus.CANCELLED)
    assert f"{batch}: now {batch.status}" in messages_of(response)[0]
    for _ in range(50):
        admin_client.post(operate(batch, "poll_now"))
        batch.refresh_from_db()
        if batch.ingested_at:
            break
    assert batch.status == BatchStatus.CANCELLED
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PENDING}
    finished = admin_client.post(changelist(BatchJob), {"action": "cancel_batches", "_selected_action": [batch.pk]},
                                 follow=True)
    assert messages_of(finished)[-1].endswith(": already cancelled")


def test_reingest_is_idempotent(admin_client):
    batch = parse_batch_with_given_up_rows()
    before = list(CV.objects.order_by("pk").values_list("parse_status", "parse_attempts", "parsed"))
    items_before = list(batch.items.order_by("pk").values_list("status", "error_code"))
    response = admin_client.post(operate(batch, "reingest"), follow=True)
    assert messages_of(response) == [f"{batch}: nothing new to apply, every result was already ingested"]
    assert [message.level_tag for message in response.context["messages"]] == ["info"]  # no green tick
    assert list(CV.objects.order_by("pk").values_list("parse_status", "parse_attempts", "parsed")) == before
    assert list(batch.items.order_by("pk").values_list("status", "error_code")) == items_before
    batch.refresh_from_db()
    assert batch.ingested_at is not None


def test_reingest_of_an_open_batch_is_refused(admin_client):
    make_cv(1)
    [batch] = submit_pending("cv_parse", mock_service(latency=3600))
    response = admin_client.post(changelist(BatchJob), {"action": "reingest", "_selected_action": [batch.pk]},
                                 follow=True)
    assert "poll it instead" in messages_of(response)[0]


def test_unknown_operation_is_404(admin_client):
    batch = parse_batch_with_given_up_rows()
    assert admin_client.post(operate(batch, "delete_everything")).status_code == 404


# --- BatchItem -------------------------------------------------------------------------------------
def test_batch_item_list_links_items_to_their_batch_and_row(admin_client):
    batch = parse_batch_with_given_up_rows()
    html = text(admin_client.get(changelist(BatchItem) + f"?batch__id__exact={batch.pk}&status__exact=failed"))
    failed = batch.items.filter(status=ItemStatus.FAILED)
    for item in failed:
        assert item.custom_id in html and change(item.cv) in html
    assert change(batch) in html
    succeeded = batch.items.filter(status=ItemStatus.SUCCEEDED).first()
    assert f">{succeeded.custom_id}<" not in html


# --- CVs, jobs, predictions --------------------------------------------------------------------------
def test_cv_list_shows_resume_name_email_statuses_and_best_match(admin_client):
    matched_and_explained()
    cv = CV.objects.filter(predictions__rank=1).first()
    best = Prediction.objects.select_related("job").get(cv=cv, rank=1)
    html = text(admin_client.get(changelist(CV)))
    assert cv.parsed["basics"]["name"] in html and cv.parsed["basics"]["email"] in html
    assert change(best.job) in html and f"{best.score:.3f}" in html
    failed = CV.objects.create(source_name="broken.txt", raw_text="x", parse_status="failed",
                               parse_error="model refused: cannot read this CV")
    assert "model refused: cannot read this CV" in text(admin_client.get(changelist(CV)))
    failed.delete()
    found = text(admin_client.get(changelist(CV) + "?q=" + cv.parsed["basics"]["name"].split()[0]))
    assert cv.parsed["basics"]["email"] in found
    assert cv.parsed["basics"]["email"] not in text(admin_client.get(changelist(CV) + "?parse_status__exact=failed"))
    assert cv.parsed["basics"]["email"] in text(admin_client.get(changelist(CV) + "?matched=yes"))


def test_cv_detail_shows_the_parsed_resume_raw_text_and_explained_matches(admin_client):
    matched_and_explained()
    cv = CV.objects.filter(predictions__rank=1).first()
    page = admin_client.get(change(cv))
    html = text(page)
    resume = cv.parsed
    assert resume["basics"]["name"] in html
    assert resume["work"][0]["position"] in html
    assert resume["skills"][0]["name"] in html
    assert cv.raw_text.splitlines()[2].split("|")[0].strip() in html
    predictions = list(page.context["predictions"])
    assert [prediction.rank for prediction in predictions] == sorted(prediction.rank for prediction in predictions)
    explained = [prediction for prediction in predictions if prediction.explanation_status == ExplanationStatus.DONE]
    assert explained and all(prediction.explanation.split(".")[0] in html for prediction in explained)
    assert "768 dimensions" in html


def test_cv_actions_reparse_reembed_rematch(admin_client):
    matched_and_explained(cvs=2)
    cv = CV.objects.first()
    admin_client.post(operate(cv, "reparse"))
    cv.refresh_from_db()
    assert (cv.parse_status, cv.parse_attempts) == (ParseStatus.PENDING, 0)
    response = admin_client.post(
        changelist(CV), {"action": "reembed", "_selected_action": list(CV.objects.values_list("pk", flat=True))},
        follow=True,
    )
    assert messages_of(response)[-1] == "2 CVs will be embedded again by the next batch."
    assert set(CV.objects.values_list("embedding_status", flat=True)) == {EmbeddingStatus.PENDING}
    response = admin_client.post(operate(cv, "rematch"), follow=True)
    assert messages_of(response) == ["1 CV will be ranked against the jobs again by the next match run."]
    cv.refresh_from_db()
    assert cv.last_matched_at is None


def test_reparse_frees_cvs_in_flight_and_their_old_answers_are_not_applied(admin_client):
    for n in range(2):
        make_cv(n)
    service = mock_service()
    [batch] = submit_pending("cv_parse", service)
    response = admin_client.post(
        changelist(CV), {"action": "reparse", "_selected_action": list(CV.objects.values_list("pk", flat=True))},
        follow=True,
    )
    assert messages_of(response) == ["2 CVs will be parsed again by the next parse batch."]
    assert set(CV.objects.values_list("parse_status", "parse_version")) == {(ParseStatus.PENDING, 1)}
    poll_open_batches(service)
    assert set(batch.items.values_list("status", flat=True)) == {ItemStatus.SUPERSEDED}
    assert set(CV.objects.values_list("parse_status", "parsed")) == {(ParseStatus.PENDING, None)}


def test_prediction_filters_by_job_score_and_explanation(admin_client):
    matched_and_explained()
    job = Job.objects.get(external_id="JOB-0")
    for query in (f"job={job.pk}", f"job={job.external_id}"):
        page = admin_client.get(changelist(Prediction) + "?" + query)
        shown = {prediction.job_id for prediction in page.context["cl"].result_list}
        assert shown == {job.pk}
    title = admin_client.get(changelist(Prediction) + "?job=engineer 0").context["cl"].result_list
    assert {prediction.job_id for prediction in title} == {job.pk}
    bands = calibrate("mock")
    for band, (low, high, _label) in band_ranges(bands).items():
        listed = admin_client.get(changelist(Prediction) + f"?band={band}").context["cl"].result_list
        assert all((low is None or p.score >= low) and (high is None or p.score < high) for p in listed), band
    listed = admin_client.get(changelist(Prediction) + "?band=strong").context["cl"].result_list
    assert listed, "the strong band is never empty: it is the top tenth of best matches"
    done = admin_client.get(changelist(Prediction) + "?explanation_status__exact=done").context["cl"].result_list
    assert done and {prediction.explanation_status for prediction in done} == {ExplanationStatus.DONE}
    assert set(done) == set(Prediction.objects.filter(explanation_status="done"))


def test_job_detail_ranks_every_embedded_cv_and_explains_the_top_on_request(admin_client, settings):
    settings.MATCH_TOP_K = 1  # each CV keeps one prediction: the job page must not depend on them
    matched_and_explained(cvs=4, jobs=3)
    job = Job.objects.get(external_id="JOB-0")
    page = admin_client.get(change(job))
    rows = page.context["candidates"]
    assert len(rows) == CV.objects.exclude(embedding=None).count() == 4
    scores = [row.candidate.score for row in rows]
    assert scores == sorted(scores, reverse=True)
    html = text(page)
    assert html.index('id="top-candidates"') < html.index('id="job_form"')
    assert f"?job={job.pk}" in html and rows[0].candidate.name in html
    assert {row.explanation_state for row in rows} == {"not requested"}
    response = admin_client.post(reverse("admin:core_job_operate", args=[job.pk, "explain_candidates"]), follow=True)
    assert "candidate explanation(s) will be sent with the next batch" in text(response)
    run_pipeline(mock_service())
    rows = admin_client.get(change(job)).context["candidates"]
    top = settings.EXPLAIN_TOP_N
    assert [row.explanation_state for row in rows] == ["done"] * top + ["not requested"] * (4 - top)
    filtered = admin_client.get(change(job) + "?skills=Python,Django&min_score=abc").context
    assert len(filtered["candidates"]) == 4  # every CV here lists both
    assert all({"python", "django"} <= {s.lower() for s in row.candidate.skills} for row in filtered["candidates"])
    assert [str(m) for m in filtered["messages"]] == ["Candidate filter ignored: minimum score 'abc' is not a number."]


# --- dashboard --------------------------------------------------------------------------------------
def test_dashboard_counts_and_spend(admin_client):
    batch = parse_batch_with_given_up_rows()
    page = admin_client.get(reverse("recruit-dashboard"))
    assert page.status_code == 200
    html = text(page)
    charts = {chart.title: {bar.label: bar.value for bar in chart.bars} for chart in page.context["row_charts"]}
    assert charts["CVs by parse status"] == {
        "Pending": 0,
        "Queued": 0,
        "Parsed": CV.objects.filter(parse_status="parsed").count(),
        "Failed": CV.objects.filter(parse_status="failed").count(),
    }
    batches = {chart.title: {bar.label: bar.value for bar in chart.bars} for chart in page.context["batch_charts"]}
    assert batches["Batches by status"]["Completed"] == 1 and batches["Batches by kind"]["CV parse"] == 1
    summary = summarize_batches(BatchJob.objects.all())
    last_day = page.context["last_day"]
    assert (last_day.requests, last_day.failed) == (batch.total, batch.failed)
    assert f'<strong id="stat-failed">{batch.failed}</strong>' in html
    assert page.context["savings"]["batch"] == money(summary.batch_cost)
    assert page.context["savings"]["synchronous"] == money(summary.synchronous_cost)
    assert summary.synchronous_cost > summary.batch_cost > Decimal(0)
    hour_bars = page.context["hourly"]["bars"]
    assert sum(1 for bar in hour_bars if float(bar["failed_h"]) > 0) == 1
    # Its links lead to the lists they summarise.
    in_flight = admin_client.get(changelist(BatchJob) + "?ingested_at__isnull=True")
    assert in_flight.status_code == 200 and batch.provider_batch_id not in text(in_flight)
    failed_link = next(bar.url for chart in page.context["row_charts"] for bar in chart.bars
                       if chart.title == "CVs by parse status" and bar.label == "Failed")
    listed = admin_client.get(failed_link).context["cl"]
    assert listed.result_count == CV.objects.filter(parse_status="failed").count()
    # Offline: no stylesheet, script or font from another host.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # Attention first: the rows that gave up are counted and the batch's failures are not recovered.
    gave_up = CV.objects.filter(parse_status="failed").count()
    assert page.context["needs_attention"] == gave_up > 0
    assert f'<strong class="rc-count" id="needs-attention-count">{gave_up}</strong>' in html
    assert html.index('id="attention"') < html.index('id="progress"')
    [entry] = page.context["batch_failures"]
    assert (entry.batch.pk, entry.gave_up, entry.recovered) == (batch.pk, gave_up, False)


def test_dashboard_shows_failures_that_were_retried_as_recovered(admin_client, settings):
    batch = parse_batch_with_given_up_rows()
    admin_client.post(operate(batch, "retry_failed_items"))
    settings.MAX_ATTEMPTS = 3
    run_pipeline(mock_service())
    assert not CV.objects.filter(parse_status="failed").exists()
    page = admin_client.get(reverse("recruit-dashboard"))
    entry = next(entry for entry in page.context["batch_failures"] if entry.batch.pk == batch.pk)
    assert entry.recovered and entry.retried_in and all(later.pk > batch.pk for later in entry.retried_in)
    assert page.context["needs_attention"] == 0
    html = text(page)
    assert 'data-status="recovered">recovered</span>' in html and "retried in" in html


def test_predictions_below_the_explained_top_n_are_not_requested_not_pending(admin_client, settings):
    settings.EXPLAIN_TOP_N = 1
    matched_and_explained(cvs=2, jobs=3)
    page = admin_client.get(changelist(Prediction))
    html = text(page)
    assert html.count('data-status="not requested"') == Prediction.objects.filter(rank__gt=1).count() > 0
    assert 'data-status="pending"' not in html
    # Listed best first, each labelled from its evidence.
    scores = [prediction.score for prediction in page.context["cl"].result_list]
    assert scores == sorted(scores, reverse=True)
    assert html.count('data-label="') == len(scores)
    cv = CV.objects.filter(predictions__rank=2).first()
    assert 'data-status="not requested"' in text(admin_client.get(change(cv)))
    dashboard = admin_client.get(reverse("recruit-dashboard")).context["row_charts"]
    chart = {bar.label: bar.value for c in dashboard for bar in c.bars if c.title.startswith("Predictions")}
    assert chart["not requested"] == Prediction.objects.filter(rank__gt=1).count() and chart["Pending"] == 0


# --- no query per row ----------------------------------------------------------------------------------
def _list_urls() -> list[str]:
    urls = [changelist(model) for model in CORE_MODELS]
    urls += [changelist(Prediction) + "?band=weak&explanation_status__exact=done", changelist(CV) + "?q=Weber"]
    return urls


def _queries_per_page(client, django_assert_max_num_queries) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The score bands are recalibrated once per match run, by the first page that needs them: not per row.
    current_bands()
    counts = {}
    for url in _list_urls():
        with django_assert_max_num_queries(MAX_LIST_QUERIES), CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured)
    return counts


# The job list's candidate counts add one search statement for the page (with its index settings, in a
# savepoint): 12 at most, whatever the number of rows.
MAX_LIST_QUERIES = 12


def test_change_lists_run_the_same_few_queries_however_many_rows(admin_client, django_assert_max_num_queries):
    matched_and_explained(cvs=2, jobs=3)
    few = _queries_per_page(admin_client, django_assert_max_num_queries)
    # Many more rows of every kind: more CVs, jobs, predictions, batches and items than a page holds.
    for n in range(60):
        make_cv(200 + n)
    for n in range(10, 16):
        make_job(n, f"Analyst {n}", ["SQL", "Python"])
    run_pipeline(mock_service())
    assert Prediction.objects.count() > 100 and BatchItem.objects.count() > 100 and CV.objects.count() > 60
    many = _queries_per_page(admin_client, django_assert_max_num_queries)
    assert many == few


def test_detail_pages_run_the_same_few_queries_however_many_items_or_matches(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url: str) -> int:
        admin_client.get(url)  # the first request caches the content type its history link needs
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    def batch_page_queries(batch: BatchJob) -> int:
        """Queries of the batch's first page, less one per item status the page spans beyond the first
        (each status is one index range, core/admin/item_pages.py): what must not grow with the batch."""
        counts = dict(batch.items.order_by().values_list("status").annotate(n=Count("pk")))
        spanned, shown = 0, 0
        for status in STATUS_ORDER:
            if counts.get(status) and shown < ITEMS_PER_PAGE:
                spanned, shown = spanned + 1, shown + counts[status]
        return queries(change(batch)) - max(spanned - 1, 0)

    small = parse_batch_with_given_up_rows(cvs=4)
    matched_and_explained(cvs=1, jobs=2)
    few = CV.objects.get(source_name="cv-100.txt")
    counts_small = (batch_page_queries(small), queries(change(few)))

    large = parse_batch_with_given_up_rows(cvs=70, first=1000)
    for n in range(10, 22):
        make_job(n, f"Analyst {n}", ["SQL", "Python"])
    make_cv(2000)
    run_pipeline(mock_service())
    many = CV.objects.get(source_name="cv-2000.txt")
    assert large.items.count() > 50 and many.predictions.count() > few.predictions.count()
    assert (batch_page_queries(large), queries(change(many))) == counts_small
    assert max(counts_small) <= 16
