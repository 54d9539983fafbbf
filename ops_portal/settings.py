"""Settings for Ops Portal, read from environment variables in this one place.

Without any variable set, the portal runs on its embedded default: a SQLite file under
var/, a filesystem Celery broker and an in-process channel layer. DATABASE_URL and
REDIS_URL switch it to MySQL/MariaDB and Redis. README.md lists every variable.
"""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OPS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string, "
            "or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

DEBUG_TOOLBAR = DEBUG and env_bool("DJANGO_DEBUG_TOOLBAR", True)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "channels",
    "django_celery_results",
    # Serves the API docs' Swagger UI from ninja's own static files instead of a CDN.
    "ninja",
    "inventory",
    "settlements",
    "imports",
    "home",
    "ops_portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "ops_portal.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

if DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    # The toolbar starts as its handle, so it does not cover the page's forms.
    DEBUG_TOOLBAR_CONFIG = {"SHOW_COLLAPSED": True}
    INTERNAL_IPS = ["127.0.0.1"]

ROOT_URLCONF = "ops_portal.urls"
ASGI_APPLICATION = "ops_portal.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "home.context_processors.portal",
            ],
        },
    },
]

# Database: DATABASE_URL, or a SQLite file under var/.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ops_portal.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
DATABASE_VENDOR = (
    "mysql" if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql" else "sqlite"
)
if DATABASE_VENDOR == "mysql":
    DATABASES["default"]["OPTIONS"] = {
        "charset": "utf8mb4",
        "local_infile": 1,
        "isolation_level": "read committed",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
else:
    # The web server and the Celery worker write to the same file: WAL lets readers
    # run beside one writer, and IMMEDIATE transactions take the write lock up front
    # instead of failing with "database is locked" when a read turns into a write.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too, not Django's shared in-memory database. There, a thread that
    # writes while another one reads (a command's job runner and its progress display)
    # fails at once with "database table is locked" instead of waiting for the lock. The
    # process id keeps test runs of one checkout apart.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ops_portal",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # The layer waits up to 5 s in a blocking pop (channels_redis 4.3); redis-py 8
            # reads with a 5 s socket timeout by default, which closed idle websockets.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 5}]
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    # NOTE: the in-memory layer reaches consumers of the web process only, so progress
    # that the worker reports reaches browsers through the job row that readers poll.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    for folder in ("queue", "control"):
        (VAR_DIR / "celery" / folder).mkdir(parents=True, exist_ok=True)

CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    # Queues again any import whose worker died, so it resumes from its last checkpoint.
    # On the imports queue, which every import worker consumes; a worker started with only
    # that queue would otherwise never see the sweep.
    "imports-resume-stale": {
        "task": "imports.resume_stale_jobs", "schedule": 60.0, "options": {"queue": "imports"},
    },
    # Removes the files, staged rows and error reports of imports that finished more than
    # IMPORT_RETENTION_DAYS ago. Hourly, so that each run has a small share of jobs.
    "imports-purge-old": {
        "task": "imports.purge_old_jobs", "schedule": 3600.0, "options": {"queue": "imports"},
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Imports: the largest file accepted, in bytes, and where uploads are kept.
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))
# A running import whose worker has written no progress for this many seconds is taken to
# be dead, and imports.resume_stale_jobs queues it again. Keep it well above the longest
# pause between two progress writes of a healthy worker.
IMPORT_STALE_AFTER_SECONDS = int(os.environ.get("IMPORT_STALE_AFTER_SECONDS", "60"))
# Processes that validate a large stock count on MySQL or MariaDB: 2 lets a second process
# validate the later rows on another core; 1 keeps validation in the worker process.
IMPORT_VALIDATION_PROCESSES = int(os.environ.get("IMPORT_VALIDATION_PROCESSES", "2"))
# Files with fewer rows are validated by one process, which saves forking the second.
IMPORT_VALIDATION_SPLIT_MIN_ROWS = int(os.environ.get("IMPORT_VALIDATION_SPLIT_MIN_ROWS", "20000"))
# Days after which a finished import loses its uploaded file, staged rows and error
# report (imports.purge_old_jobs, manage.py imports_purge). The job row stays.
IMPORT_RETENTION_DAYS = int(os.environ.get("OPS_IMPORT_RETENTION_DAYS", "90"))
if IMPORT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"OPS_IMPORT_RETENTION_DAYS is {IMPORT_RETENTION_DAYS}; set it to 1 or more days."
    )
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Access and sessions.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home:index"
LOGOUT_REDIRECT_URL = "login"

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Off only where a production-like server is reached over plain HTTP on this machine
# (browser tests, the load test); a deployment behind TLS keeps the default.
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Only the portal's own scripts, styles and connections: no inline script, no style=""
# attribute, no eval. 'self' in connect-src also covers ws: and wss: to the page's own
# host and port (CSP Level 3), which the imports websocket uses. A browser test in
# home/tests/browser/test_security_csp.py checks both in Chromium.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
}
PERMISSIONS_POLICY = {"camera": [], "microphone": [], "geolocation": []}

# Login throttling: a username, or a client IP address, with this many failed logins within
# the window is locked out until the window (counted from its first failure) ends.
LOGIN_THROTTLE_USERNAME_FAILURES = int(os.environ.get("LOGIN_THROTTLE_USERNAME_FAILURES", "5"))
LOGIN_THROTTLE_IP_FAILURES = int(os.environ.get("LOGIN_THROTTLE_IP_FAILURES", "20"))
LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("LOGIN_THROTTLE_WINDOW_SECONDS", "900"))
# Reverse proxies in front of the portal that append the client address to X-Forwarded-For.
# 0 takes the address of the connection itself.
TRUSTED_PROXY_COUNT = int(os.environ.get("OPS_TRUSTED_PROXY_COUNT", "0"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("OPS_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Hashed, compressed static files need `collectstatic` first; development and tests serve
# the source folders instead.
STATIC_MANIFEST = env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(os.environ.get("OPS_MEDIA_ROOT", VAR_DIR / "media"))

# Settlement reconciliation: the absolute difference between the counted amount and the
# recorded sales of one payment method, in the store's currency. Up to OK is OK, up to
# WARN is WARN, anything larger is FAIL.
SETTLEMENT_TOLERANCE_OK = Decimal(os.environ.get("SETTLEMENT_TOLERANCE_OK", "1.00"))
SETTLEMENT_TOLERANCE_WARN = Decimal(os.environ.get("SETTLEMENT_TOLERANCE_WARN", "20.00"))
if SETTLEMENT_TOLERANCE_WARN < SETTLEMENT_TOLERANCE_OK:
    raise ImproperlyConfigured(
        "SETTLEMENT_TOLERANCE_WARN must be at least SETTLEMENT_TOLERANCE_OK."
    )

PORTAL_CURRENCY = os.environ.get("OPS_CURRENCY", "EUR")
SHARED_DATA_DIR = Path(os.environ.get("OPS_SHARED_DATA_DIR", BASE_DIR.parent / "shared" / "data"))

LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        app: {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
        for app in ("inventory", "settlements", "imports", "home", "ops_portal")
    },
}
