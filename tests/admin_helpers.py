"""Data for the admin tests, built through the real pipeline on the real mock engine."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from core.batches.poll import poll_open_batches
from core.batches.submit import submit_pending
from core.models import CV, BatchJob, ParseStatus, Prediction
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import make_cv, make_job, mock_service

PASSWORD = "correct horse battery staple"


def staff_user(username: str = "operator", superuser: bool = True):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if superuser:
        return users.create_superuser(username, f"{username}@example.com", PASSWORD)
    return users.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)


def parse_batch_with_given_up_rows(cvs: int = 8, failure_rate: float = 0.5, first: int = 0) -> BatchJob:
    """A finished, ingested cv_parse batch where some requests failed and their rows gave up.

    With MAX_ATTEMPTS=1 a failed request exhausts its row at once, which is the case "retry failed
    items" exists for. The batch's files live on settings.MOCK_BATCH_DIR, where the admin's
    BatchService() finds them.
    """
    settings.MAX_ATTEMPTS = 1
    service = mock_service(failure_rate=failure_rate)
    for n in range(first, first + cvs):
        make_cv(n)
    [batch] = submit_pending("cv_parse", service)
    poll_open_batches(service)
    batch.refresh_from_db()
    assert batch.failed > 0 and CV.objects.filter(parse_status=ParseStatus.FAILED, batch_items__batch=batch).exists()
    return batch


def matched_and_explained(cvs: int = 3, jobs: int = 5) -> None:
    """CVs parsed, embedded, matched against jobs and their top matches explained, with no failures."""
    skills = [["Python", "Django"], ["Go", "Kubernetes"], ["React", "TypeScript"], ["PostgreSQL", "SQL"], ["Rust"]]
    for n in range(jobs):
        make_job(n, f"Engineer {n}", skills[n % len(skills)])
    for n in range(cvs):
        make_cv(100 + n)
    result = run_pipeline(mock_service())
    assert result.finished


def build_world() -> dict:
    """A batch with failed items and given-up rows, and a CV with explained matches."""
    batch = parse_batch_with_given_up_rows()
    matched_and_explained(cvs=1, jobs=3)
    cv = CV.objects.filter(predictions__isnull=False).first()
    prediction = Prediction.objects.filter(cv=cv).first()
    item = batch.items.filter(status="failed").first()
    secrets = [batch.provider_batch_id, batch.input_file_id, cv.parsed["basics"]["email"], cv.parsed["basics"]["name"]]
    return {"batch": batch, "cv": cv, "prediction": prediction, "item": item, "data": secrets}


def read_urls(world) -> list[str]:
    """Every page that shows data: index, dashboard, lists, detail and history pages, downloads."""
    batch, cv = world["batch"], world["cv"]
    urls = [reverse("admin:index"), reverse("recruit-dashboard")]
    for name in ("batchjob", "batchitem", "cv", "job", "prediction"):
        urls.append(reverse(f"admin:core_{name}_changelist"))
    for obj in (batch, world["item"], cv, world["prediction"].job, world["prediction"]):
        name = obj._meta.model_name
        urls += [reverse(f"admin:core_{name}_{page}", args=[obj.pk]) for page in ("change", "history")]
    urls += [reverse("admin:core_batchjob_download", args=[batch.pk, which]) for which in ("input", "output", "error")]
    return urls
