"""The admin in a real browser: headless Debian Chromium driven by Playwright against the live server.

Each test logs in as staff, walks an operator's path and saves a screenshot of every page it checks
in its temporary directory. Skipped, saying why, where Chromium is missing; CI installs Debian's
chromium (.ci/run) and requires it (tests/optional_services.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connections
from playwright import sync_api

from core.admin import display
from core.models import CV, BatchItem, BatchJob, BatchStatus, ItemStatus, Job, ParseStatus, Prediction
from tests.admin_helpers import (
    PASSWORD,
    build_world,
    matched_and_explained,
    parse_batch_with_given_up_rows,
    read_urls,
    staff_user,
)
from tests.optional_services import chromium_path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server, monkeypatch, tmp_path):
    """A logged-out browser page; the live server serves the admin's static files itself."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it
    # are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        # A 1366 x 768 laptop: every list and the job page must fit it without horizontal scrolling.
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # ORM calls made while Playwright runs get their own connection (its greenlet has its own
            # context); close it here or it outlives the test and blocks dropping the test database.
            connections.close_all()


def log_in(page) -> None:
    staff_user()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    sync_api.expect(page.locator("#user-tools")).to_contain_text("operator")


def snap(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_operator_opens_the_dashboard_and_retries_a_batchs_failed_items(page, tmp_path):
    batch = parse_batch_with_given_up_rows()
    failed_items = BatchItem.objects.filter(batch=batch, status=ItemStatus.FAILED).count()
    given_up = CV.objects.filter(parse_status=ParseStatus.FAILED).count()
    expect = sync_api.expect
    log_in(page)

    # The admin index links to the dashboard.
    page.click("#recruit-dashboard-link a")
    expect(page).to_have_url(re.compile(r"/admin/dashboard/$"))
    expect(page.locator("h1")).to_have_text("Pipeline dashboard")
    expect(page.locator("#backend")).to_contain_text("mock")
    expect(page.locator("#stat-requests")).to_have_text(str(batch.total))
    expect(page.locator("#stat-failed")).to_have_text(str(failed_items))
    expect(page.locator("#needs-attention-count")).to_have_text(str(given_up))
    parse_chart = page.locator(".rc-chart", has_text="CVs by parse status")
    expect(parse_chart.locator(".rc-bar-row[data-label=Failed] .rc-bar-value")).to_have_text(str(given_up))
    expect(page.locator("#spend")).to_contain_text("synchronous prices")
    expect(page.locator(".rc-svg rect.rc-svg-failed")).not_to_have_count(0)
    snap(page, tmp_path, "dashboard")

    # The batch list: status badge and progress of completed / failed / total.
    page.goto("/admin/core/batchjob/")
    row = page.locator("#result_list tbody tr", has_text=display.short_id(batch.provider_batch_id))
    expect(row.locator(".rc-badge")).to_have_text(f"Completed, {batch.failed} failed")
    expect(row.locator(".rc-progress-text")).to_have_text(f"{batch.completed} / {batch.failed} / {batch.total}")
    expect(page.locator("#changelist-filter")).to_contain_text("By kind")
    snap(page, tmp_path, "batch_list")

    # The batch: failed items first, with their errors and links to the CVs; timeline; downloads.
    row.locator("th a").click()
    expect(page.locator("#items tbody tr.rc-item").first).to_have_attribute("data-status", "failed")
    expect(page.locator("#items tr.rc-item[data-status=failed]")).to_have_count(failed_items)
    expect(page.locator("#items tr.rc-item[data-status=failed]").first).to_contain_text("HTTP")
    expect(page.locator("#items tr.rc-item").first.locator("a[href*='/admin/core/cv/']")).to_have_count(1)
    expect(page.locator("#timeline")).to_contain_text("results ingested")
    expect(page.locator("#downloads a", has_text="error file")).to_have_count(1)
    snap(page, tmp_path, "batch_detail")

    with page.expect_download() as download_info:
        page.click("#downloads a:has-text('error file')")
    download = download_info.value
    assert download.suggested_filename == f"{batch.provider_batch_id}_error.jsonl"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert len(saved.read_text().splitlines()) == failed_items

    # Retry failed items: a POST with the CSRF token; the page says what happened.
    page.click("#operations button:has-text('Retry failed items')")
    expect(page.locator(".messagelist .success")).to_contain_text(f"{given_up} rows sent back to pending")
    snap(page, tmp_path, "batch_after_retry")
    assert not CV.objects.filter(parse_status=ParseStatus.FAILED).exists()

    # Nothing left to retry the second time.
    page.click("#operations button:has-text('Retry failed items')")
    expect(page.locator(".messagelist .info")).to_contain_text("no rows to retry")


def test_operator_reads_a_cv_with_its_matches_and_explanations(page, tmp_path):
    matched_and_explained()
    cv = CV.objects.filter(predictions__rank=1).first()
    best = Prediction.objects.select_related("job").get(cv=cv, rank=1)
    assert best.explanation
    expect = sync_api.expect
    log_in(page)

    page.goto("/admin/core/cv/")
    row = page.locator("#result_list tbody tr", has_text=cv.parsed["basics"]["email"])
    expect(row).to_contain_text(cv.parsed["basics"]["name"])
    expect(row.locator(".rc-badge").first).to_have_text("Parsed")
    expect(row).to_contain_text(best.job.title)
    snap(page, tmp_path, "cv_list")

    row.locator("th a").click()
    expect(page.locator("#resume h3").first).to_contain_text(cv.parsed["basics"]["name"])
    expect(page.locator("#resume")).to_contain_text("Experience")
    expect(page.locator("#raw-text pre")).to_contain_text(cv.raw_text.splitlines()[0])
    first_match = page.locator("#matches tr.rc-match").first
    expect(first_match).to_contain_text(best.job.title)
    expect(first_match.locator(".rc-explanation")).to_have_text(best.explanation.strip())
    expect(page.locator("#history")).to_contain_text("CV parse")
    snap(page, tmp_path, "cv_detail")

    # From the match to the job's own page, which ranks its candidates.
    first_match.locator("a[href*='/admin/core/job/']").click()
    expect(page.locator("#top-candidates")).to_contain_text(cv.parsed["basics"]["name"])
    snap(page, tmp_path, "job_detail")


def test_an_anonymous_visitor_sees_only_the_login_page(page, tmp_path):
    world = build_world()
    expect = sync_api.expect
    urls = read_urls(world)
    assert len(urls) >= 20
    for index, url in enumerate(urls):
        page.goto(url)
        expect(page.locator("#login-form")).to_be_visible()
        assert re.search(r"/admin/login/\?next=", page.url), url
        content = page.content()
        for value in world["data"]:
            assert value not in content, (url, value)
        if index in (0, 1, len(urls) - 1):
            snap(page, tmp_path, f"anonymous_{index}")


def overflow(page) -> dict:
    """How far the page, and the change list's table inside its scrolling box, run past the window."""
    return page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const box = table && table.closest('.results');
            return {
                page: document.documentElement.scrollWidth - window.innerWidth,
                table: table && box ? table.scrollWidth - box.clientWidth : 0,
            };
        }"""
    )


def test_every_list_and_the_job_page_fit_a_1366_pixel_screen(page, tmp_path):
    build_world()
    expect = sync_api.expect
    log_in(page)
    for url in [
        "/admin/core/batchjob/",
        "/admin/core/batchitem/",
        "/admin/core/cv/",
        "/admin/core/job/",
        "/admin/core/prediction/",
        "/admin/dashboard/",
        "/admin/",
    ]:
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
        snap(page, tmp_path, url.strip("/").replace("/", "_") or "index")
        assert max(overflow(page).values()) <= 0, (url, overflow(page))
    # The index's dashboard link reads as a line, not one letter per line.
    page.goto("/admin/")
    link = page.locator("#recruit-dashboard-link a")
    assert link.bounding_box()["width"] > 60
    expect(page.locator("a", has_text="View site")).to_have_count(0)


def test_recruiter_reads_a_jobs_best_candidates_with_labels_and_asks_for_explanations(page, tmp_path, settings):
    settings.MATCH_TOP_K = 1  # CVs keep only their own best job: the job page must still rank them all
    matched_and_explained(cvs=5, jobs=3)
    job = Job.objects.get(external_id="JOB-0")
    expect = sync_api.expect
    log_in(page)

    page.goto("/admin/core/job/")
    row = page.locator("#result_list tbody tr", has_text=job.title)
    expect(row.locator(".field-top_score")).not_to_have_text("-")
    page.goto(f"/admin/core/job/{job.pk}/change/")
    candidates = page.locator("#top-candidates tr.rc-candidate")
    expect(candidates).to_have_count(CV.objects.exclude(embedding=None).count())
    scores = [float(score) for score in candidates.evaluate_all("rows => rows.map(r => r.dataset.score)")]
    assert scores == sorted(scores, reverse=True)
    labels = candidates.locator("[data-label]").evaluate_all("spans => spans.map(s => s.dataset.label)")
    assert labels and set(labels) <= {"strong", "good", "fair", "weak"}
    expect(candidates.first.locator("[data-status]")).to_have_text("not requested")
    assert max(overflow(page).values()) <= 0, overflow(page)
    snap(page, tmp_path, "job_page")

    page.click("#operations button:has-text('Explain the top')")
    expect(page.locator(".messagelist .success")).to_contain_text("will be sent with the next batch")
    expect(candidates.first.locator("[data-status]")).to_have_text("pending")

    page.fill("#candidate-filters input[name=skills]", "Python, Django")
    page.click("#candidate-filters button")
    expect(page).to_have_url(re.compile(r"skills=Python"))
    page.wait_for_load_state()
    expect(candidates).not_to_have_count(0)  # the filter keeps CVs that list both
    for skills in page.locator("#top-candidates tr.rc-candidate .rc-skills").all_inner_texts():
        assert {"python", "django"} <= {skill.strip().lower() for skill in skills.split(",")}


def test_cancel_asks_for_confirmation_first(page, tmp_path):
    from core.batches.submit import submit_pending
    from tests.pipeline_helpers import make_cv, mock_service

    for n in range(2):
        make_cv(n)
    [batch] = submit_pending("cv_parse", mock_service(latency=3600))
    expect = sync_api.expect
    log_in(page)
    page.goto(f"/admin/core/batchjob/{batch.pk}/change/")
    page.click("#operations button:has-text('Cancel')")
    expect(page.locator("h1")).to_have_text("Cancel this batch?")
    expect(page.locator("#content-main")).to_contain_text(batch.provider_batch_id)
    snap(page, tmp_path, "cancel_confirmation")
    assert BatchJob.objects.get(pk=batch.pk).status == BatchStatus.VALIDATING
    page.click("#confirm-operation")
    expect(page.locator(".messagelist .success")).to_contain_text("now cancel")
