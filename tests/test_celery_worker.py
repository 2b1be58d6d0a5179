"""A real `celery worker -B` process takes the pipeline end to end, on the serverless broker and on Redis."""

import os
import time
from pathlib import Path

import pytest

from core.models import CV, ExplanationStatus, ParseStatus, Prediction
from tests.celery_helpers import running_worker
from tests.optional_services import redis_broker_url
from tests.pipeline_helpers import make_cv, make_job

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_a_real_worker_runs_the_pipeline_end_to_end(broker, tmp_path, test_database_url, settings):
    broker_url = redis_broker_url() if broker == "redis" else None
    make_cv(1, skills="Python, Django, PostgreSQL", label="Backend Engineer")
    make_cv(2, skills="Patient assessment, IV therapy, Triage", label="Registered Nurse")
    make_job(1, "Backend Engineer", ["Python", "Django", "PostgreSQL"])
    make_job(2, "ICU Nurse", ["Patient assessment", "IV therapy", "Triage"])

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url,
        "RECRUIT_DATA_DIR": str(tmp_path / "data"),
        "MOCK_BATCH_DIR": str(tmp_path / "mock"),
        "BATCH_WORK_DIR": str(tmp_path / "work"),
        "USE_MOCK_BATCH": "true",
        "MOCK_BATCH_FAILURE_RATE": "0",
        "EXPLAIN_TOP_N": str(settings.EXPLAIN_TOP_N),
        "CELERY_SUBMIT_INTERVAL": "1",
        "CELERY_POLL_INTERVAL": "1",
        "CELERY_MATCH_INTERVAL": "1",
        "LOG_LEVEL": "INFO",
    }
    env.pop("CELERY_BROKER_URL", None)
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    log_path = tmp_path / "worker.log"
    with running_worker(env, log_path, "-B", "-s", str(tmp_path / "beat-schedule")) as worker:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            explained = Prediction.objects.filter(explanation_status=ExplanationStatus.DONE).count()
            if explained == 2 * min(settings.EXPLAIN_TOP_N, 2):
                break
            time.sleep(0.5)
    output = log_path.read_text()
    assert set(CV.objects.values_list("parse_status", flat=True)) == {ParseStatus.PARSED}, output[-3000:]
    top = dict(Prediction.objects.filter(rank=1).values_list("cv__source_name", "job__external_id"))
    assert top == {"cv-1.txt": "JOB-1", "cv-2.txt": "JOB-2"}, output[-3000:]
    assert Prediction.objects.filter(explanation_status=ExplanationStatus.DONE).count() == 2 * min(
        settings.EXPLAIN_TOP_N, 2
    ), output[-3000:]
    assert "core.tasks.poll_batches" in output and "event=ingested" in output
