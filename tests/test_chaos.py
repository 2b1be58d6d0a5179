"""The invariant that matters most: however work is interleaved, the end state is the calm one.

The same final inputs go through (a) a calm run in this process, with no failures, and (b) a chaotic
run: 20% injected failures and latency on the mock, `run_pipeline --wait` and two `poll_batches
--wait` in their own processes, one poller SIGKILLed mid-run, and jobs re-imported with new text while
their embeddings are in flight; then the pipeline is settled (rows that gave up retried, calmly).
Every CV's parse and vector, every job's vector, every ranking and explanation must be equal, and
nothing may be left open or queued. Both runs count as a bulk load of CVs, so the CV index is dropped
and built again by whichever process gets there: it must end valid, once. Seeded; the database is
emptied between the runs.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import pytest
from django.db import connection

from core.batches.submit import submit_pending
from core.importing.jobs import import_jobs_file
from core.models import CV, BatchItem, BatchJob, ItemStatus, Job, Prediction
from core.operations.cv_index import INDEX, cv_index_valid
from core.operations.rows import retry_failed_rows
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import make_cv, mock_service

REPO = Path(__file__).resolve().parent.parent
SEED = 20261124
PROFILES = [
    ("Backend Engineer", "Python, Django, PostgreSQL, Celery, REST APIs"),
    ("Registered Nurse", "Patient assessment, IV therapy, Triage, Wound care"),
    ("Data Analyst", "SQL, Tableau, Excel, pandas, A/B testing"),
    ("Frontend Engineer", "React, TypeScript, CSS, Storybook, accessibility"),
    ("DevOps Engineer", "Kubernetes, Terraform, AWS, Prometheus, CI/CD"),
    ("Accountant", "IFRS, reconciliations, SAP, month-end close, audit"),
]
JOBS = [
    ("JOB-1", "Backend Engineer", ["Python", "Django", "PostgreSQL"], "Build REST APIs with Django."),
    ("JOB-2", "ICU Nurse", ["Patient assessment", "IV therapy", "Triage"], "Care for critically ill patients."),
    ("JOB-3", "BI Analyst", ["SQL", "Tableau", "Excel"], "Dashboards for the finance team."),
    ("JOB-4", "React Developer", ["React", "TypeScript", "CSS"], "Ship our design system."),
    ("JOB-5", "Platform Engineer", ["Kubernetes", "Terraform", "AWS"], "Run our clusters."),
    ("JOB-6", "Financial Accountant", ["IFRS", "SAP", "audit"], "Own the month-end close."),
]
# What the chaotic run changes while those jobs' embeddings are in flight: the final text.
EDITS = {
    "JOB-1": "Build REST APIs with Django and Celery; on call for PostgreSQL.",
    "JOB-4": "Ship our design system in React and TypeScript, accessible by default.",
    "JOB-5": "Run Kubernetes clusters on AWS with Terraform and Prometheus.",
}


def _jobs_file(path: Path, descriptions: dict[str, str], only: set[str] | None = None) -> Path:
    lines = [
        orjson.dumps(
            {"external_id": ext, "title": title, "company": "Acme", "location": "Berlin", "skills": skills,
             "description": descriptions.get(ext, description)}
        )
        for ext, title, skills, description in JOBS
        if only is None or ext in only
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _make_cvs() -> None:
    for n in range(12):
        label, skills = PROFILES[n % len(PROFILES)]
        make_cv(n, skills=skills, label=label)


def _vector(value) -> bytes | None:
    return None if value is None else np.asarray(value, dtype=np.float32).tobytes()


def _state() -> dict:
    """Everything the pipeline produces, by natural keys (source names and external ids)."""
    cvs = CV.objects.values_list("source_name", "parse_status", "parsed", "embedding_status", "embedding")
    jobs = Job.objects.values_list("external_id", "description", "embedding_status", "embedding")
    predictions = Prediction.objects.values_list(
        "cv__source_name", "job__external_id", "rank", "score", "explanation_status", "explanation"
    )
    return {
        "cvs": {
            name: (parse, orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS), status, _vector(embedding))
            for name, parse, parsed, status, embedding in cvs
        },
        "jobs": {ext: (text, status, _vector(embedding)) for ext, text, status, embedding in jobs},
        "predictions": {
            (cv, job): (rank, round(score, 6), status, explanation)
            for cv, job, rank, score, status, explanation in predictions
        },
    }


def _nothing_left_open() -> None:
    assert not BatchJob.objects.filter(ingested_at__isnull=True).exists()
    assert not BatchItem.objects.filter(status=ItemStatus.QUEUED).exists()
    assert cv_index_valid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [INDEX])
        assert cursor.fetchone() == (1,)
    for field in ("parse_status", "embedding_status"):
        assert not CV.objects.filter(**{field: "queued"}).exists()
        assert not CV.objects.filter(**{field: "pending"}).exists()
    assert not Job.objects.filter(embedding_status__in=["queued", "pending"]).exists()


def _empty_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE core_batchitem, core_batchjob, core_prediction, core_cv, core_job, core_matchsnapshot"
            " RESTART IDENTITY CASCADE"
        )


def _ingested() -> bool:
    return BatchJob.objects.filter(ingested_at__isnull=False).exists()


def _start(env: dict, log: Path, *command: str) -> subprocess.Popen:
    with log.open("w") as handle:
        return subprocess.Popen(
            [sys.executable, "manage.py", *command], cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_chaotic_run_ends_in_the_state_of_a_calm_run(tmp_path, settings, test_database_url):
    settings.EXPLAIN_TOP_N = 2
    settings.MATCH_TOP_K = 4
    settings.CV_INDEX_BULK_LOAD_ROWS = 6  # the 12 CVs are a bulk load
    final = _jobs_file(tmp_path / "final.jsonl", EDITS)

    # (a) calm: the final inputs, no failures, one process.
    _make_cvs()
    import_jobs_file(final)
    assert run_pipeline(mock_service(root=tmp_path / "calm-mock")).finished
    _nothing_left_open()
    calm = _state()
    assert len(calm["predictions"]) == 12 * 4
    _empty_database()

    # (b) chaos: the first job texts, their embeddings sent, then edited while in flight.
    chaos_root = tmp_path / "chaos-mock"
    _make_cvs()
    import_jobs_file(_jobs_file(tmp_path / "first.jsonl", {}))
    chaotic = mock_service(root=chaos_root, failure_rate=0.2, seed=SEED, latency=0.3)
    [in_flight] = submit_pending("job_embedding", chaotic)
    import_jobs_file(_jobs_file(tmp_path / "edits.jsonl", EDITS, only=set(EDITS)))
    submit_pending("job_embedding", chaotic)  # the new texts go out before the old vectors come back

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url,
        "USE_MOCK_BATCH": "true",
        "MOCK_BATCH_DIR": str(chaos_root),
        "MOCK_BATCH_FAILURE_RATE": "0.2",
        "MOCK_BATCH_SEED": str(SEED),
        "MOCK_BATCH_LATENCY": "0.3",
        "EXPLAIN_TOP_N": "2",
        "MATCH_TOP_K": "4",
        "CV_INDEX_BULK_LOAD_ROWS": "6",
        "POLL_RETRY_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    processes = {
        name: _start({**env, "BATCH_WORK_DIR": str(tmp_path / f"work-{name}")}, tmp_path / f"{name}.log", *command)
        for name, command in {
            "pipeline": ("run_pipeline", "--wait", "--poll-interval", "0.2"),
            "poller-1": ("poll_batches", "--wait", "--interval", "0.1", "--timeout", "120"),
            "poller-2": ("poll_batches", "--wait", "--interval", "0.05", "--timeout", "120"),
        }.items()
    }
    try:
        # Kill a poller mid-run: once batches have been ingested and others are still in flight.
        deadline = time.monotonic() + 60
        while not (_ingested() and BatchJob.objects.filter(ingested_at__isnull=True).exists()):
            assert time.monotonic() < deadline, "the chaotic run never had batches ingested and others open"
            time.sleep(0.02)
        os.killpg(processes["poller-2"].pid, signal.SIGKILL)
        assert processes["pipeline"].wait(timeout=120) == 0, (tmp_path / "pipeline.log").read_text()[-3000:]
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
    assert processes["poller-2"].returncode == -signal.SIGKILL

    # Settle: what gave up under 20% failures is retried, calmly, until nothing is left.
    retry_failed_rows()
    assert run_pipeline(mock_service(root=chaos_root), wait=True, poll_interval=0.2).finished
    _nothing_left_open()

    in_flight.refresh_from_db()
    superseded = set(in_flight.items.filter(status=ItemStatus.SUPERSEDED).values_list("job__external_id", flat=True))
    assert superseded == set(EDITS)  # the stale vectors came back and were kept off the rows
    assert BatchItem.objects.filter(status=ItemStatus.FAILED).exists()  # the chaos was real
    chaos = _state()
    for part in ("cvs", "jobs", "predictions"):
        keys = calm[part].keys() | chaos[part].keys()
        differing = sorted(key for key in keys if calm[part].get(key) != chaos[part].get(key))
        assert not differing, f"{part} differ from the calm run: {differing[:5]}"
