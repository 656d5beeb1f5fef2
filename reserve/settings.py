"""Settings for the State Digital Asset Fund back office.

Configured by environment variables only. With none set, the embedded default runs:
SQLite file under ``var/``, filesystem Celery broker, DEBUG on, a development secret.
``DJANGO_ENV=production`` selects the production profile, which refuses to start without
``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS``.
"""

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RESERVE_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}")


def env_required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production")
    return value


DJANGO_ENV = env("DJANGO_ENV", "embedded")
if DJANGO_ENV not in {"embedded", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'embedded' or 'production', got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in env_required("DJANGO_ALLOWED_HOSTS").split(",") if h.strip()]
    DEBUG = env_bool("DJANGO_DEBUG", False)
else:
    SECRET_KEY = env("DJANGO_SECRET_KEY") or "embedded-development-only-not-a-secret-0123456789abcdef"
    ALLOWED_HOSTS = [
        h.strip() for h in (env("DJANGO_ALLOWED_HOSTS") or "127.0.0.1,localhost,testserver").split(",")
    ]
    DEBUG = env_bool("DJANGO_DEBUG", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_celery_beat",
    "reserve.apps.ReserveConfig",
    "intake.apps.IntakeConfig",
    "mining.apps.MiningConfig",
    "reports.apps.ReportsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reserve.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "reserve.wsgi.application"

# Database
# SQLite under var/ unless DATABASE_URL is set (postgres://user:pass@host:port/name).
VAR_DIR.mkdir(parents=True, exist_ok=True)
_database_url = env("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
else:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must be set when DJANGO_ENV=production")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH") or str(VAR_DIR / "reserve.sqlite3"),
            # IMMEDIATE: a writing transaction takes the write lock at BEGIN, so two writers
            # queue instead of failing half-way with "database is locked". WAL: readers (the
            # web server) never wait for the writer (a Celery task) and a commit writes the log
            # once; synchronous=FULL still flushes every commit to disk before it returns.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
            },
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workflow:inbox"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation
LANGUAGE_CODE = env("DJANGO_LANGUAGE_CODE", "en")
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

# Uploaded files: court documents live under MEDIA_ROOT/court-documents, named by their
# SHA-256 (intake.documents), and are served only through a view that re-checks the hash.
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
INTAKE_DOCUMENT_DIR = Path(env("INTAKE_DOCUMENT_DIR", str(MEDIA_ROOT / "court-documents")))
INTAKE_DOCUMENT_MAX_BYTES = env_int("INTAKE_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)

# Mining (expected output, daily lines). Fees per block are added to the subsidy in the expected
# output when a caller gives none: 0 means "subsidy only", the conservative figure. A daily
# line's average hashrate may exceed the site's nominal fleet total by at most this margin.
MINING_DEFAULT_FEES_PER_BLOCK_SATS = env_int("MINING_DEFAULT_FEES_PER_BLOCK_SATS", 0)
MINING_HASHRATE_MARGIN_PERCENT = env_int("MINING_HASHRATE_MARGIN_PERCENT", 10)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# REST API
# Integration clients authenticate with "Authorization: Bearer <token>" (first, so that a call
# without credentials answers 401 with WWW-Authenticate); people with a session (the docs page).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "reserve.api.schema.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "reserve.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "reserve.api.errors.exception_handler",
    # JSON only, and strictly (reserve.api.parsers): hostile bodies are a 400, never a 500.
    "DEFAULT_PARSER_CLASSES": ["reserve.api.parsers.StrictJSONParser"],
    # Per integration client (reserve.api.throttling); the counts live in the default cache,
    # which must be shared (Redis) when several web processes serve the API.
    "DEFAULT_THROTTLE_CLASSES": ["reserve.api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_client": env("API_THROTTLE_RATE") or "600/min"},
}

#: Largest request body the API reads (bytes); a larger one is a 413 ``too_large``. Below
#: Django's DATA_UPLOAD_MAX_MEMORY_SIZE, so the API's own JSON error answers first.
API_MAX_BODY_SIZE = 1024 * 1024

SPECTACULAR_SETTINGS = {
    "TITLE": "State Digital Asset Fund API",
    "DESCRIPTION": (BASE_DIR / "reserve" / "api" / "contract.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc served from our own static files: the fund's network has no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reserve.api.errors.document_query_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "reserve.models.approvals.RequestStatus",
        "VerdictEnum": "reserve.models.approvals.Verdict",
        "CategoryEnum": "reserve.models.ledger.Category",
        "HeldCategoryEnum": "reserve.api.request_serializers.HELD_CATEGORY_CHOICES",
        "NetworkEnum": "reserve.models.assets.Network",
        "OrderKindEnum": "intake.models.cases.OrderKind",
        "MiningReportStateEnum": "mining.models.reports.ReportState",
    },
}

# Celery
# Embedded default: kombu's filesystem transport under var/celery, no Redis needed.
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or "filesystem://"
_celery_dir = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "control", "results"):
        (_celery_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or f"file://{_celery_dir / 'results'}"
else:
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
# A task whose worker dies (SIGKILL, OOM) goes back to the queue instead of being lost; every
# task is idempotent, so running it again leaves the same state.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TIMEZONE = TIME_ZONE
# Schedules live in the database, editable in the admin without a deploy; the defaults are
# installed after migrations (reserve/schedules.py) and never overwritten.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Publishing to a stopped broker must fail fast: the outbox row waits for the relay.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Valuations (issue #17)
#: Whether this machine may call the network price, rate and chain sources. Off in the embedded
#: default (offline: manual prices and rates); the sources are installed disabled then, and an
#: operator enables them in the admin.
EXTERNAL_SOURCES_ENABLED = env_bool("EXTERNAL_SOURCES_ENABLED", False)
#: Chain-data adapters per network, e.g. CHAIN_SOURCES='{"bitcoin": {"adapter": "esplora",
#: "base_url": "https://..."}}' (adapters: esplora, bitcoind with "auth": [user, password],
#: ethereum). Empty (the default): offline, observations are recorded by clerks with evidence.
CHAIN_SOURCES = json.loads(env("CHAIN_SOURCES") or "{}")
#: A quote farther than this fraction from the median of the fresh quotes is rejected.
VALUATION_MAX_SPREAD = Decimal(env("VALUATION_MAX_SPREAD") or "0.05")
#: Scheduled refreshes value the holdings at instants on this grid (minutes), so that running a
#: refresh twice for the same slot finds the snapshot already made.
VALUATION_SLOT_MINUTES = int(env("VALUATION_SLOT_MINUTES") or 5)

# Cache
# API throttling counts live in the cache: with several web processes it must be shared
# (CACHE_URL=redis://...). The embedded default is a per-process memory cache.
_cache_url = env("CACHE_URL")
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
elif PRODUCTION:
    raise ImproperlyConfigured(
        "CACHE_URL must be set when DJANGO_ENV=production (API throttling needs a shared cache)"
    )

# Security
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
OTP_TOTP_ISSUER = "State Digital Asset Fund"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A decision on the workflow screens needs a TOTP code entered at most this long ago.
SECOND_FACTOR_MAX_AGE = timedelta(minutes=env_int("SECOND_FACTOR_MAX_AGE_MINUTES", 15))

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    CSRF_TRUSTED_ORIGINS = [
        o.strip() for o in (env("DJANGO_CSRF_TRUSTED_ORIGINS") or "").split(",") if o.strip()
    ]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "WARNING")},
}
