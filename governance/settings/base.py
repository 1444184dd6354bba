"""Settings for every environment, read from the environment.

The embedded default (no variables set) is a first run on a bare machine: SQLite and kombu's
filesystem broker under ``var/``, with generated secrets. ``governance.settings.production`` changes
values only: it requires every secret and turns on the HTTPS protections.
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from governance.core import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env.string("GOVERNANCE_VAR_DIR", str(BASE_DIR / "var")))
PRODUCTION = os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")


def _dev_file(name: str) -> Path | None:
    # Generated secrets are a convenience for a first run only; production must be given its own.
    return None if PRODUCTION else VAR_DIR / name


def _dev_default(value: str) -> str | None:
    # Production names its database, broker and key files explicitly; None makes a missing one fatal.
    return None if PRODUCTION else value


SECRET_KEY = env.secret("SECRET_KEY", generate_into=_dev_file("secret_key"))
DEBUG = env.boolean("DJANGO_DEBUG", default=False)
# "testserver" is the name Django's test client (and the benches' in-process client) calls itself;
# production never answers to it (production.py refuses it).
ALLOWED_HOSTS = env.string_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", *([] if PRODUCTION else ["testserver"])]
)
CSRF_TRUSTED_ORIGINS = env.string_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Static files come from whitenoise in every process, runserver included (no CDN: issue 17).
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our static files
    "django_celery_results",
    "axes",
    "governance.accounts",
    "audit",
    "registry",
    "governance.consent",
    "governance.approvals",
    "governance.jobs",
    "governance.mlflow_api",
    "governance.monitoring",
    "governance.documentation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files before anything touches sessions or the database; then the Content Security Policy.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "governance.core.logs.RequestIdMiddleware",
    # One JSON line per request (governance.access), with the request id and the final status.
    "governance.core.access_log.AccessLogMiddleware",
    # Right after the request id: NUL in a URL is refused, and a view's unforeseen failure becomes a
    # JSON (API), MLflow-shaped (/api/2.0/mlflow/) or page answer carrying that id.
    "governance.core.error_middleware.ErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lock-out response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# The lock-out check first, so a locked name or address is refused before its password is looked at.
AUTHENTICATION_BACKENDS = [
    "governance.accounts.login_lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# Our own "signed out" page (governance/pages.py), for the console and the admin site alike.
LOGOUT_REDIRECT_URL = "/accounts/signed-out/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "governance" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.menu.console",  # the role-aware menu in base.html
            ],
            # |when, |duration, |deflist on every page without {% load %} (governance/core/templatetags).
            "builtins": ["governance.core.templatetags.console"],
            "libraries": {"console": "governance.core.templatetags.console"},
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env.string("DATABASE_URL", _dev_default(f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
        conn_max_age=env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue on the busy timeout instead of failing with "database is locked" on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not :memory:, so that a worker process in the integration tests sees the same test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # The database file (and the -wal and -shm files SQLite gives the same mode) readable by this
    # service's user alone: 0600, in a folder made 0700.
    _database_file = Path(DATABASES["default"]["NAME"])
    env.private_file(_database_file, own_folder=_database_file.parent == VAR_DIR)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side parameter binding lets psycopg prepare statements a connection repeats (the audit
    # writer, the sequencer): PostgreSQL then skips parsing and planning them, about a tenth of the
    # CPU of an audited write on a small machine.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The console's own CSS and scripts (governance/ is not an app, so name its folder).
STATICFILES_DIRS = [BASE_DIR / "governance" / "static"]
with contextlib.suppress(OSError):  # read-only installs serve from the packages alone (finders, below)
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise reads it at start (`manage.py collectstatic`)
# Whitenoise serves the apps' static files from the installed packages (finders): every process serves the
# console's CSS, Swagger UI and Redoc with or without `collectstatic` (STATIC_ROOT too, precompressed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = VAR_DIR / "media"
# Artifacts and dataset files go through Django's storage API, content-addressed by SHA-256. Local files
# by default; S3-compatible storage by configuration (`pip install '.[s3]'`), e.g.
# STORAGE_BACKEND=storages.backends.s3.S3Storage and STORAGE_OPTIONS={"bucket_name": ..., "endpoint_url": ...}
# with credentials in the usual AWS_* variables.
STORAGES = {
    "default": {
        "BACKEND": env.string("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json_object("STORAGE_OPTIONS", {}),
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Stored artifacts and dataset files (personal data among them) are this service's alone.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Where the MLflow API's `source` may be fetched from (an allow-list; comma-separated). Local directories
# (absolute; none by default, so no local path is read) and artifact-server URL prefixes; a loopback or
# private address is fetched only when a listed URL names that address. Anything else is recorded
# unverified and is never deployable.
ARTIFACT_SOURCE_ROOTS = env.string_list("ARTIFACT_SOURCE_ROOTS", [])
if not all(Path(root).is_absolute() for root in ARTIFACT_SOURCE_ROOTS):
    raise ImproperlyConfigured(f"ARTIFACT_SOURCE_ROOTS={ARTIFACT_SOURCE_ROOTS}: give absolute directories.")
ARTIFACT_SOURCE_URLS = env.string_list("ARTIFACT_SOURCE_URLS", [])
if not all(urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname for u in ARTIFACT_SOURCE_URLS):
    raise ImproperlyConfigured(f"ARTIFACT_SOURCE_URLS={ARTIFACT_SOURCE_URLS}: give http(s) URL prefixes.")
ARTIFACT_SOURCE_MAX_BYTES = env.integer("ARTIFACT_SOURCE_MAX_BYTES", 2 * 1024**3, minimum=1)

# Settings kept in modules of their own so each reads in one sitting (names listed in each module).
from governance.settings.limits import *  # noqa: E402, F403
from governance.settings.lockout import *  # noqa: E402, F403
from governance.settings.logs import *  # noqa: E402, F403
from governance.settings.operations import *  # noqa: E402, F403
from governance.settings.operations import MONITORING_CHECK_EVERY_SECONDS, MONITORING_WEBHOOK_URLS  # noqa: E402

# The signing secret is needed only where webhooks are sent; then, as any secret, from env or *_FILE.
MONITORING_WEBHOOK_SECRET = (
    env.secret("MONITORING_WEBHOOK_SECRET", generate_into=_dev_file("monitoring_webhook_secret"))
    if MONITORING_WEBHOOK_URLS
    else ""
)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_JSON_BODY_BYTES  # noqa: F405  (Django's own cap on a non-file body)

# --- Security (values tightened by production.py) --------------------------------------------------
# Content Security Policy (django-csp 4): every script and stylesheet from this service, none inline;
# no plugins, no framing, forms post only here. Pages that need more say so with a decorator and why
# (the API reference's Redoc page: governance/pages.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# X-Forwarded-Proto says "HTTPS" only behind a proxy that sets it and drops the caller's own (Django's
# SECURE_PROXY_SSL_HEADER warning): off unless told so.
TRUST_PROXY_HEADERS = env.boolean("TRUST_PROXY_HEADERS", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_PROXY_HEADERS else None
# API tokens expire after this many days unless issued for fewer (never after the token issuing them).
API_TOKEN_DEFAULT_DAYS = env.integer("API_TOKEN_DEFAULT_DAYS", 90, minimum=1)
# A verified token is trusted this long in the process that verified it, so a pipeline's calls cost no
# statement to authenticate; a revocation, role change or deactivation in another process is honoured
# within this time (at once in the process that made it). 0 looks every token up on every request.
API_TOKEN_CACHE_MILLISECONDS = env.integer("API_TOKEN_CACHE_MILLISECONDS", 1000, minimum=0)

# --- REST API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "governance.core.pagination.CursorPagination",
    # JSON within MAX_JSON_BODY_BYTES / MAX_JSON_DEPTH / MAX_JSON_ITEMS and without NUL (core/json_parser.py).
    "DEFAULT_PARSER_CLASSES": [
        "governance.core.json_parser.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's, counted in one cache round trip a request (governance/core/throttling.py).
        "governance.core.throttling.AnonRateThrottle",
        "governance.core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.string("THROTTLE_ANON", "120/minute"),
        "user": env.string("THROTTLE_USER", "6000/minute"),
        "signing": env.string("THROTTLE_SIGNING", "30/minute"),
        "lineage_ingest": env.string("THROTTLE_LINEAGE_INGEST", "60000/minute"),
        "predict": env.string("THROTTLE_PREDICT", "60000/minute"),  # per user, see jobs/throttling.py
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.core.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `format` is ours (e.g. the lineage report's format), not DRF's renderer switch.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Model governance service API",
    "DESCRIPTION": "Lineage, consent, release sign-off and a signed, verifiable audit log.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files: the pages work with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Error answers, one tag per app and links between operations (governance/core/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "governance.core.schema.postprocess",
    ],
}

# --- Cache (throttling state) -----------------------------------------------------------------------
REDIS_URL = env.string("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": VAR_DIR / "cache"}
    )
}

# --- Celery ------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.string("CELERY_BROKER_URL", _dev_default("filesystem://"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    for _sub in ("queue", "control", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.integer("CELERY_TASK_TIME_LIMIT", 3600, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env.integer("CELERY_TASK_SOFT_TIME_LIMIT", 3300, minimum=1)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue("default", Exchange("default"), routing_key="default"),
    Queue("train", Exchange("train"), routing_key="train"),
    Queue("deploy", Exchange("deploy"), routing_key="deploy"),
]
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Audit log -----------------------------------------------------------------------------------------
AUDIT_LOG_ORIGIN = env.string("AUDIT_LOG_ORIGIN", "governance.example/audit")
AUDIT_SIGNING_KEY_FILE = Path(
    env.string("AUDIT_SIGNING_KEY_FILE", _dev_default(str(VAR_DIR / "audit" / "signing-key.pem")))
)
AUDIT_STORE_DIR = Path(env.string("AUDIT_STORE_DIR", str(VAR_DIR / "audit")))
AUDIT_CHECKPOINT_EVERY_SECONDS = env.integer("AUDIT_CHECKPOINT_EVERY_SECONDS", 60, minimum=1)
AUDIT_CHECKPOINT_EVERY_ENTRIES = env.integer("AUDIT_CHECKPOINT_EVERY_ENTRIES", 1000, minimum=1)
AUDIT_VERIFY_EVERY_SECONDS = env.integer("AUDIT_VERIFY_EVERY_SECONDS", 3600, minimum=60)
# Keyed hashes (HMAC-SHA256) for personal identifiers, so no raw personal data reaches the log.
PSEUDONYM_KEY = env.secret("PSEUDONYM_KEY", generate_into=_dev_file("pseudonym_key"))

# --- Model artifacts -------------------------------------------------------------------------------------
# The EC P-256 private key (PEM) that signs every stored model artifact (OpenSSF model signing); the
# embedded default makes one under var/. Rotation (`manage.py model_signing_key rotate`) keeps the old
# public keys in MODEL_SIGNING_KEYRING_DIR, so artifacts signed before still verify.
MODEL_SIGNING_KEY_FILE = Path(
    env.string("MODEL_SIGNING_KEY_FILE", _dev_default(str(VAR_DIR / "model-signing" / "signing-key.pem")))
)
MODEL_SIGNING_KEYRING_DIR = Path(
    env.string("MODEL_SIGNING_KEYRING_DIR", str(VAR_DIR / "model-signing" / "keys"))
)

# --- Release approvals -----------------------------------------------------------------------------------
# Ed25519 key that signs grants: a PEM, or a random secret of 32+ characters the key is derived from.
GRANT_SIGNING_KEY = env.secret("GRANT_SIGNING_KEY", generate_into=_dev_file("grant_signing_key"))
# Repeated wrong passwords at signing lock signing for that person (21 CFR 11.300(d)).
SIGNING_MAX_FAILURES = env.integer("SIGNING_MAX_FAILURES", 5, minimum=1)
SIGNING_FAILURE_WINDOW_SECONDS = env.integer("SIGNING_FAILURE_WINDOW_SECONDS", 900, minimum=60)
SIGNING_LOCKOUT_SECONDS = env.integer("SIGNING_LOCKOUT_SECONDS", 3600, minimum=60)
# Who is mailed security alerts such as a signing lock-out (comma-separated addresses; none by default).
ADMINS = [(address, address) for address in env.string_list("ADMINS", [])]

CELERY_BEAT_SCHEDULE = {
    "monitoring-drift-checks": {
        "task": "monitoring.drift_checks_schedule",
        "schedule": timedelta(seconds=MONITORING_CHECK_EVERY_SECONDS),
    },
    "jobs-reap": {
        "task": "jobs.reap_stale",
        "schedule": timedelta(seconds=30),
    },
    "audit-checkpoint": {
        "task": "audit.tasks.audit_checkpoint",
        "schedule": timedelta(seconds=5),
    },
    "audit-verify": {
        "task": "audit.tasks.audit_verify",
        "schedule": timedelta(seconds=AUDIT_VERIFY_EVERY_SECONDS),
    },
}
