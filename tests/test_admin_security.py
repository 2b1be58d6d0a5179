"""Who reaches the admin, the dashboard and the downloads, and what they can make it do.

Anonymous visitors and non-staff users get the login page and no data; staff need the model's view
permission to read and its change permission to operate; operations are POST with CSRF; a download
serves only the files the batch itself references; the OpenAI API key never appears anywhere.
"""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from core.models import CV, BatchJob, ParseStatus
from core.services.batch_service import BatchService
from tests.admin_helpers import PASSWORD, build_world, read_urls, staff_user

pytestmark = pytest.mark.django_db

SECRET = "sk-test-admin-never-shown-0123456789abcdef"


@pytest.fixture
def world():
    return build_world()


def operate_urls(world) -> list[str]:
    batch, cv = world["batch"], world["cv"]
    return [
        reverse("admin:core_batchjob_operate", args=[batch.pk, "retry_failed_items"]),
        reverse("admin:core_batchjob_operate", args=[batch.pk, "reingest"]),
        reverse("admin:core_cv_operate", args=[cv.pk, "reparse"]),
    ]


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def assert_login_page_without_data(client, url, data, method="get"):
    response = getattr(client, method)(url)
    assert response.status_code == 302, (url, response.status_code)
    assert response["Location"].startswith(reverse("admin:login") + "?next="), url
    login = client.get(response["Location"])
    assert login.status_code == 200 and 'id="login-form"' in login.content.decode()
    for page in (body(response), login.content.decode()):
        for value in data:
            assert value not in page, (url, value)


def state(world):
    batch = BatchJob.objects.get(pk=world["batch"].pk)
    return (
        list(CV.objects.order_by("pk").values_list("parse_status", "parse_attempts", "last_matched_at")),
        batch.ingested_at,
    )


def test_anonymous_visitors_get_the_login_page_and_no_data(client, world):
    before = state(world)
    for url in read_urls(world):
        assert_login_page_without_data(client, url, world["data"])
    for url in operate_urls(world):
        assert_login_page_without_data(client, url, world["data"], method="post")
    assert_login_page_without_data(client, reverse("admin:core_batchjob_changelist"), world["data"], method="post")
    assert state(world) == before


def test_users_who_are_not_staff_get_the_login_page_and_no_data(client, world):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("visitor", "visitor@example.com", PASSWORD, is_staff=False)
    assert client.login(username="visitor", password=PASSWORD)
    before = state(world)
    for url in read_urls(world):
        assert_login_page_without_data(client, url, world["data"])
    for url in operate_urls(world):
        assert_login_page_without_data(client, url, world["data"], method="post")
    assert state(world) == before


def test_staff_without_permissions_are_refused_the_data(client, world):
    staff_user("clerk", superuser=False)
    assert client.login(username="clerk", password=PASSWORD)
    before = state(world)
    assert client.get(reverse("admin:index")).status_code == 200  # "you don't have permission to view anything"
    for url in read_urls(world)[1:]:
        response = client.get(url)
        assert response.status_code == 403, url
        for value in world["data"]:
            assert value not in body(response)
    for url in operate_urls(world):
        assert client.post(url).status_code == 403
    assert state(world) == before


def test_view_permission_reads_but_cannot_operate(client, world):
    user = staff_user("auditor", superuser=False)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_batchjob", "view_cv"]))
    assert client.login(username="auditor", password=PASSWORD)
    batch = world["batch"]
    assert client.get(reverse("recruit-dashboard")).status_code == 200
    page = client.get(reverse("admin:core_batchjob_change", args=[batch.pk]))
    assert page.status_code == 200 and page.context["recruit_operations"] == []
    assert client.get(reverse("admin:core_batchjob_download", args=[batch.pk, "input"])).status_code == 200
    before = state(world)
    for url in operate_urls(world):
        assert client.post(url).status_code == 403
    response = client.post(
        reverse("admin:core_batchjob_changelist"), {"action": "retry_failed_items", "_selected_action": [batch.pk]}
    )
    assert response.status_code in (200, 302)
    assert state(world) == before
    assert CV.objects.filter(parse_status=ParseStatus.FAILED).exists()


def test_operations_are_post_only_and_need_the_csrf_token(world):
    staff_user("operator")
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="operator", password=PASSWORD)
    url = reverse("admin:core_batchjob_operate", args=[world["batch"].pk, "retry_failed_items"])
    before = state(world)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert client.post(reverse("admin:core_batchjob_changelist"), {
        "action": "retry_failed_items", "_selected_action": [world["batch"].pk]}).status_code == 403
    assert state(world) == before
    # The same POST from the page itself, with its token, does the work.
    page = client.get(reverse("admin:core_batchjob_change", args=[world["batch"].pk]))
    token = page.context["csrf_token"]
    assert client.post(url, {"csrfmiddlewaretoken": str(token)}).status_code == 302
    assert not CV.objects.filter(parse_status=ParseStatus.FAILED).exists()


def test_downloads_serve_only_the_files_the_batch_references(admin_client, world):
    batch = world["batch"]
    other = parse_other_batch()
    own_input = b"".join(BatchService().file_content(batch.input_file_id))
    base = reverse("admin:core_batchjob_download", args=[batch.pk, "input"])
    # Whatever the query string names, the batch's own input file is what comes back.
    for query in (f"?file_id={other.input_file_id}", "?path=/etc/passwd", f"?which=output&file={other.output_file_id}"):
        response = admin_client.get(base + query)
        assert response.status_code == 200 and b"".join(response.streaming_content) == own_input
    prefix = f"/admin/core/batchjob/{batch.pk}/files/"
    for which in ("..%2F..%2F..%2Fetc%2Fpasswd", "../../../../etc/passwd", "input_file_id", other.input_file_id,
                  "%2Fetc%2Fpasswd", "input%00"):
        response = admin_client.get(prefix + which + "/", follow=True)
        assert response.status_code in (200, 404), which
        assert not response.streaming and b"root:" not in response.content and own_input not in response.content


def parse_other_batch() -> BatchJob:
    from core.batches.poll import poll_open_batches
    from core.batches.submit import submit_pending
    from tests.pipeline_helpers import make_cv, mock_service

    service = mock_service()
    make_cv(900)
    [batch] = submit_pending("cv_parse", service)
    poll_open_batches(service)
    batch.refresh_from_db()
    return batch


def test_the_api_key_is_never_shown(admin_client, world, settings, caplog):
    settings.OPENAI_API_KEY = SECRET
    settings.USE_MOCK_BATCH = True
    with caplog.at_level(logging.DEBUG):
        pages = [body(admin_client.get(url)) for url in read_urls(world)]
        # A batch on OpenAI that cannot be reached: the error is reported, the key is not.
        make_openai = BatchJob.objects.filter(pk=world["batch"].pk)
        make_openai.update(backend="openai", ingested_at=None, status="in_progress")
        settings.USE_MOCK_BATCH = False
        settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
        url = reverse("admin:core_batchjob_operate", args=[world["batch"].pk, "poll_now"])
        response = admin_client.post(url, follow=True)
        pages.append(body(response))
    [message] = [str(message) for message in response.context["messages"]]
    assert "poll failed: APIConnectionError" in message
    for page in pages:
        assert SECRET not in page
        assert SECRET[:12] not in page
    assert SECRET not in caplog.text
