"""The foundation: the embedded server, the schema, the constraints and the settings."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from core.models import CV, BatchItem, BatchJob, Job, Prediction, content_hash
from recruit import embedded_db
from recruit.env import env_bool, env_float, env_int

REPO = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (REPO / "recruit" / "settings.py").read_text()
SETTING_VARIABLES = set(re.findall(r'env_\w+\("([A-Z_]+)"', SETTINGS_SOURCE))


def run_django(code: str, **env) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python process with Django set up from the environment."""
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recruit.settings", **env}
    script = "import django; django.setup()\n" + code
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120
    )


# --- the embedded server -------------------------------------------------------------------------


@pytest.mark.django_db
def test_schema_has_vector_extension_and_hnsw_cosine_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert cursor.fetchone()[0].startswith("0.8")
        cursor.execute("SHOW server_version")
        assert cursor.fetchone()[0].startswith("18")
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE indexdef ILIKE '%USING hnsw%' ORDER BY 1"
        )
        rows = cursor.fetchall()
    assert [(table, name) for table, name, _ in rows] == [
        ("core_cv", "cv_embedding_hnsw"),
        ("core_job", "job_embedding_hnsw"),
    ]
    # Half-precision HNSW over the full-precision column (see core.models._hnsw_cosine_index).
    assert all("((embedding)::halfvec(768)) halfvec_cosine_ops" in definition for _, _, definition in rows), rows


@pytest.mark.django_db
def test_tests_never_touch_the_developers_database(settings):
    assert connection.settings_dict["EMBEDDED_DIR"] == settings.EMBEDDED_DB_DIR
    assert str(settings.EMBEDDED_DB_DIR).startswith(tempfile.gettempdir())
    assert connection.settings_dict["NAME"] == "test_recruit"


@pytest.mark.django_db
def test_status_fields_that_select_work_are_indexed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        definitions = cursor.fetchall()
    for table, column in [
        ("core_cv", "parse_status"),
        ("core_cv", "embedding_status"),
        ("core_job", "embedding_status"),
        ("core_prediction", "explanation_status"),
        ("core_batchjob", "status"),
        ("core_batchitem", "status"),
    ]:
        assert any(t == table and f"({column}" in d.replace("batch_id, ", "(") for t, d in definitions), (table, column)


@pytest.mark.django_db(transaction=True)
def test_a_second_process_reuses_the_running_server(settings):
    TEST_DB_DIR = settings.EMBEDDED_DB_DIR
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pid = embedded_db.server_pid(TEST_DB_DIR)
    assert pid is not None
    result = run_django(
        "from django.db import connection\n"
        "from recruit import embedded_db\n"
        "connection.ensure_connection()\n"
        "print(embedded_db.server_pid(connection.settings_dict['EMBEDDED_DIR']))\n",
        EMBEDDED_DB_DIR=str(TEST_DB_DIR),
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == pid
    assert embedded_db.server_pid(TEST_DB_DIR) == pid  # the other process did not stop it on exit


@pytest.fixture
def scratch_server_dir(tmp_path_factory):
    """A data directory for a server of the test's own, destroyed afterwards."""
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"recruit-scratch-{os.getpid()}-{time.monotonic_ns()}"
    base.mkdir()
    datadir = base / "pg"
    yield datadir
    if datadir.exists():
        embedded_db.destroy(datadir)
    base.rmdir()


def test_two_processes_starting_at_once_share_one_server(scratch_server_dir):
    code = (
        "import sys\nfrom pathlib import Path\nfrom recruit import embedded_db\n"
        "info = embedded_db.ensure_server(Path(sys.argv[1]), 'recruit')\nprint(info.pid)\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(scratch_server_dir)], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    pids = {int(out.strip()) for out, _ in outputs}
    assert len(pids) == 1
    assert pids == {embedded_db.server_pid(scratch_server_dir)}


def test_a_crashed_server_is_recovered_not_reported_as_corrupt(scratch_server_dir):
    first = embedded_db.ensure_server(scratch_server_dir, "recruit")
    os.kill(first.pid, signal.SIGKILL)  # a crash: postmaster.pid stays behind
    psutil.Process(first.pid).wait(10)
    assert (scratch_server_dir / "postmaster.pid").exists()
    assert embedded_db.read_running(scratch_server_dir) is None

    second = embedded_db.ensure_server(scratch_server_dir, "recruit")
    assert second.pid != first.pid
    import psycopg

    with psycopg.connect(second.uri("recruit")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_pid_file_naming_another_program_is_treated_as_stale(scratch_server_dir):
    first = embedded_db.ensure_server(scratch_server_dir, "recruit")
    embedded_db.stop_server(scratch_server_dir)
    pid_file = scratch_server_dir / "postmaster.pid"
    # After a crash and a reboot, the recorded pid may belong to an unrelated process, such as this one.
    lines = [str(os.getpid()), str(scratch_server_dir), "0", str(first.port), str(first.socket_dir), "", "0 0", "ready"]
    pid_file.write_text("\n".join(lines) + "\n")
    assert embedded_db.read_running(scratch_server_dir) is None

    second = embedded_db.ensure_server(scratch_server_dir, "recruit")
    assert psutil.Process(second.pid).name() == "postgres"


@pytest.mark.django_db
def test_embedded_db_command_reports_the_server(capsys, settings):
    call_command("embedded_db", "status")
    assert f"pid {embedded_db.server_pid(settings.EMBEDDED_DB_DIR)}" in capsys.readouterr().out


# --- models and constraints ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_cv_text_is_stored_once():
    cv = CV.objects.create(source_name="a.txt", raw_text="Jane Doe\nPython developer")
    assert cv.content_hash == content_hash("Jane Doe\nPython developer")
    with pytest.raises(IntegrityError), transaction.atomic():
        CV.objects.create(source_name="copy-of-a.txt", raw_text="Jane Doe\nPython developer")
    assert CV.objects.count() == 1


@pytest.mark.django_db
def test_unique_constraints():
    job = Job.objects.create(external_id="J-1", title="Engineer")
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(external_id="J-1", title="Other")

    cv = CV.objects.create(source_name="a.txt", raw_text="text")
    Prediction.objects.create(cv=cv, job=job, score=0.9, rank=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Prediction.objects.create(cv=cv, job=job, score=0.8, rank=2)

    batch = BatchJob.objects.create(kind="cv_parse", backend="mock", endpoint="/v1/chat/completions",
                                    model="gpt-4o-mini", provider_batch_id="batch_1", input_file_id="file-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        BatchJob.objects.create(kind="cv_parse", backend="mock", endpoint="/v1/chat/completions",
                                model="gpt-4o-mini", provider_batch_id="batch_1", input_file_id="file-2")
    BatchItem.objects.create(batch=batch, custom_id="cv-parse-1", cv=cv)
    with pytest.raises(IntegrityError), transaction.atomic():
        BatchItem.objects.create(batch=batch, custom_id="cv-parse-1", cv=cv)


@pytest.mark.django_db
def test_embeddings_round_trip_with_the_configured_width(settings):
    vector = [0.0] * settings.EMBEDDING_DIMENSIONS
    vector[3] = 1.0
    job = Job.objects.create(external_id="J-2", title="Nurse", embedding=vector)
    job.refresh_from_db()
    assert len(job.embedding) == settings.EMBEDDING_DIMENSIONS
    assert job.embedding[3] == 1.0


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EMBEDDING_DIMENSIONS", "lots", "EMBEDDING_DIMENSIONS='lots' is not a valid integer"),
        ("EMBEDDING_DIMENSIONS", "4096", "EMBEDDING_DIMENSIONS=4096 exceeds 2000"),
        ("MOCK_BATCH_FAILURE_RATE", "1.5", "MOCK_BATCH_FAILURE_RATE='1.5' must be between"),
        ("DEBUG", "maybe", "DEBUG='maybe' is not a valid boolean"),
        ("USE_MOCK_BATCH", "perhaps", "USE_MOCK_BATCH='perhaps' is not a valid boolean"),
        ("MAX_ATTEMPTS", "0", "MAX_ATTEMPTS='0' must be at least 1"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' must be one of"),
        ("DATABASE_URL", "mysql://u:p@h/db", "DATABASE_URL must be a postgres"),
    ],
)
def test_a_bad_setting_stops_the_process_naming_the_variable(variable, value, expected):
    result = run_django("", **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert expected in result.stderr


def test_env_readers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", " 42 ")
    monkeypatch.setenv("X_FLOAT", "0.25")
    monkeypatch.setenv("X_EMPTY", "")
    assert env_bool("X_BOOL", False) is True
    assert env_bool("X_EMPTY", None) is None
    assert env_int("X_INT", 1) == 42
    assert env_float("X_FLOAT", 0.0, minimum=0, maximum=1) == 0.25
    monkeypatch.setenv("X_INT", "4.5")
    with pytest.raises(ImproperlyConfigured, match="X_INT='4.5' is not a valid integer"):
        env_int("X_INT", 1)


def test_defaults_without_environment():
    result = run_django(
        "from django.conf import settings as s\n"
        "print(s.DEBUG, s.EMBEDDING_MODEL, s.EMBEDDING_DIMENSIONS, s.CHAT_MODEL, s.MOCK_BACKEND_ACTIVE,"
        " s.ALLOWED_HOSTS, s.DATABASES['default']['ENGINE'])\n",
        DEBUG="", OPENAI_API_KEY="", USE_MOCK_BATCH="", DATABASE_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "text-embedding-3-small", "768", "gpt-4o-mini", "True",
        "['localhost',", "'127.0.0.1',", "'[::1]']", "recruit.db_backend",
    ]


def test_importing_settings_starts_no_server(tmp_path):
    datadir = tmp_path / "never-started"
    result = run_django("from django.conf import settings\nprint(settings.EMBEDDED_DB_DIR)",
                        EMBEDDED_DB_DIR=str(datadir))
    assert result.returncode == 0, result.stderr
    assert not datadir.exists()


def test_serving_http_with_debug_off_needs_a_secret_key():
    result = run_django("import recruit.wsgi", DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is required to serve HTTP" in result.stderr
    result = run_django("import recruit.wsgi", DEBUG="false", SECRET_KEY="a-long-secret-from-the-environment")
    assert result.returncode == 0, result.stderr


def test_every_setting_is_documented_in_readme_and_env_example():
    readme = (REPO / "README.md").read_text()
    example = (REPO / ".env.example").read_text()
    for variable in SETTING_VARIABLES:
        assert f"{variable}=" in example, variable
        assert variable in readme, variable


# --- deployment files ----------------------------------------------------------------------------


def test_docker_compose_services_images_and_variables():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert services["redis"]["image"].startswith("redis:")
    assert "gunicorn recruit.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "recruit", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "recruit", "beat"]
    for name, service in services.items():
        assert "healthcheck" in service, name
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert set(environment) <= SETTING_VARIABLES, set(environment) - SETTING_VARIABLES
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert environment["DATABASE_URL"].endswith("@db:5432/recruit")
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert "SECRET_KEY" in environment
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
    db_env = services["db"]["environment"]
    assert db_env["POSTGRES_DB"] == "recruit" and db_env["POSTGRES_USER"] == "recruit"


def _compose_value(value: str) -> str:
    """A compose value as docker compose resolves it with an empty .env: ${VAR:-default} -> default."""

    def resolve(match: re.Match) -> str:
        body = match.group(1)
        if ":-" in body:
            return body.split(":-", 1)[1]
        if ":?" in body:
            return "set-in-dot-env"
        return ""

    return re.sub(r"\$\{([^}]*)\}", resolve, str(value))


def test_docker_compose_runs_one_beat_and_a_broker_that_redelivers():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    commands = {name: service.get("command") for name, service in services.items()}
    # Exactly one beat: the beat service (one replica), and no worker with an embedded beat (-B).
    beats = [name for name, command in commands.items() if isinstance(command, list) and "beat" in command]
    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    for name, command in commands.items():
        words = command if isinstance(command, list) else str(command).split()
        assert not {"-B", "--beat"} & set(words), name
    worker = commands["worker"]
    assert not any(word.startswith("--pool") or word == "-P" for word in worker)  # prefork: time limits hold

    # The broker is Redis, with a visibility timeout longer than the hard time limit, as the settings
    # resolve the environment compose gives the worker.
    environment = {key: _compose_value(value) for key, value in services["worker"]["environment"].items()}
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert services["redis"]["command"][-2:] == ["--appendonly", "yes"]  # queued tasks survive a restart
    code = (
        "import json\nfrom django.conf import settings as s\n"
        "print(json.dumps([s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS, s.CELERY_TASK_SOFT_TIME_LIMIT,"
        " s.CELERY_TASK_TIME_LIMIT, s.CELERY_TASK_ACKS_LATE, s.CELERY_TASK_REJECT_ON_WORKER_LOST]))"
    )
    env = {key: value for key, value in environment.items() if value != ""}
    unset = [key for key, value in environment.items() if value == ""]
    full_env = {key: value for key, value in os.environ.items() if key not in unset and not key.startswith("CELERY_")}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=REPO, env={**full_env, "DJANGO_SETTINGS_MODULE": "recruit.settings", **env},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    broker, transport, soft, hard, acks_late, reject_on_worker_lost = json.loads(result.stdout.splitlines()[-1])
    assert broker.startswith("redis://")
    assert 0 < soft < hard < transport["visibility_timeout"]
    assert acks_late and reject_on_worker_lost


def test_ci_script_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in quick_start.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("python manage.py demo")
    ci = (REPO / ".ci" / "run").read_text()
    assert commands[1] in ci
    assert "set -euo pipefail" in ci
    assert "ruff check ." in ci and "makemigrations --check --dry-run" in ci
