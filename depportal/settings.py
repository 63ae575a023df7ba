"""Settings: everything comes from the environment, with embedded defaults for a one-command demo.

Production is the same module with the environment set (see README, "Configuration").
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from depportal.env import env, env_bool, env_int, env_list
from depportal.ops.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files of the embedded run (SQLite, broker queue, cache, dev keys); ignored by git.
LOCAL_DIR = Path(env("DEPPORTAL_LOCAL_DIR", str(BASE_DIR / ".local")))

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - only ever used with DEBUG on

# Fernet key (urlsafe base64, 32 bytes) for private keys and OAuth secrets at rest. Old keys stay
# readable through DEPPORTAL_ENCRYPTION_OLD_KEYS until `manage.py rotate_encryption_key` rewrote them.
DEPPORTAL_ENCRYPTION_KEY = env("DEPPORTAL_ENCRYPTION_KEY", "")
DEPPORTAL_ENCRYPTION_OLD_KEYS = env_list("DEPPORTAL_ENCRYPTION_OLD_KEYS", [])
if not DEPPORTAL_ENCRYPTION_KEY and not DEBUG:
    raise ImproperlyConfigured("DEPPORTAL_ENCRYPTION_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "depportal.accounts",
    "depportal.audit",
    "overview.alerts",
    "tokens",
    "profiles",
    "devices",
    "syncjobs",
    "business",
    "depportal.ops",
]

# OpsMiddleware serves it; it lives in the overview app because it reads every app.
METRICS_VIEW = "overview.metrics.metrics_view"

MIDDLEWARE = [
    # First: probes and the metrics scraper reach /healthz, /readyz, /metrics by internal address over HTTP.
    "depportal.ops.middleware.OpsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "depportal.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "depportal.middleware.RequestBoundsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "depportal.audit.context.AuditContextMiddleware",
]

ROOT_URLCONF = "depportal.urls"
WSGI_APPLICATION = "depportal.wsgi.application"

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
                "overview.context_processors.console",
            ],
            # `{% url %}` with each reversed URL remembered (the same links, a millisecond less per page).
            "builtins": ["depportal.core.urltag"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{LOCAL_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded run has a web process and a worker writing at once: wait for the lock, use WAL.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "depportal.core.cache.ReusingRedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared between the web and worker processes of the embedded run, unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(LOCAL_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "depportal.accounts.passwords.VisibleVariedPasswordValidator"},
]
# SignInBackend checks passwords; RoleBackend answers the console's role permissions (depportal/core/console.py).
AUTHENTICATION_BACKENDS = ["depportal.accounts.throttle.SignInBackend", "depportal.accounts.scoping.RoleBackend"]
# Failed sign-ins (console, Django admin, API token header) counted per account and per address within
# the window; reaching a limit locks that account or address out for the lockout, which then ends by itself.
SIGNIN_FAILURES_PER_ACCOUNT = env_int("DEPPORTAL_SIGNIN_FAILURES_PER_ACCOUNT", 5)
SIGNIN_FAILURES_PER_ADDRESS = env_int("DEPPORTAL_SIGNIN_FAILURES_PER_ADDRESS", 20)
SIGNIN_WINDOW_SECONDS = env_int("DEPPORTAL_SIGNIN_WINDOW_SECONDS", 900)
SIGNIN_LOCKOUT_SECONDS = env_int("DEPPORTAL_SIGNIN_LOCKOUT_SECONDS", 900)
# Webhook URLs on loopback, private or link-local addresses are refused (the server would call inside its
# own network for whoever sets the URL) unless this allows them, for a receiver on the same network.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("DEPPORTAL_WEBHOOK_ALLOW_PRIVATE", False)
# Django admin edits rows directly, past the services' rules and the audit log: off unless asked for.
DJANGO_ADMIN_ENABLED = env_bool("DEPPORTAL_DJANGO_ADMIN", False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Every page and API call reads the session: the cache answers it (Redis when configured), the database keeps it.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# HTTPS: HSTS is on by default in production (browsers ignore it over plain HTTP). Redirecting to HTTPS and
# trusting X-Forwarded-Proto are opt-in: both need to know how TLS is terminated in front of the portal.
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env_bool("DJANGO_USE_X_FORWARDED_HOST", False)
# Bearer token for GET /metrics (Prometheus); empty turns the endpoint off (404).
DEPPORTAL_METRICS_TOKEN = env("DEPPORTAL_METRICS_TOKEN", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "depportal.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "depportal.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "depportal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "depportal.api.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "depportal.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "depportal.api.exceptions.exception_handler",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DEP Portal API",
    "DESCRIPTION": "Enrollment program tokens, enrollment profiles, devices and syncs for Apple ADE (DEP).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BusinessActivityKindEnum": "business.models.ActivityKind",
        "BusinessConnectionKindEnum": "business.models.ConnectionKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "depportal.api.schema.document_query_bounds",
    ],
}

# Celery: Redis when configured; otherwise kombu's filesystem transport, so the embedded run still
# has a real asynchronous worker and the console never blocks on Apple.
if REDIS_URL:
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
    _queue_dir = LOCAL_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True  # jobs keep their own rows; no result backend
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers and beat log through LOGGING below (JSON in production) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(LOCAL_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Each token has its own slot in the day; this only looks for slots that have come (rule 2).
    "sync-schedule-due": {"task": "syncjobs.tasks.syncjob_schedule_due_task", "schedule": 300.0},
    # Times out jobs past their deadline and resumes those whose worker died (rule 4).
    "sync-reap": {"task": "syncjobs.tasks.syncjob_reap_task", "schedule": 60.0},
}
# Profile assignments Apple answered THROTTLED or FAILED are retried once their cool-down has passed.
CELERY_BEAT_SCHEDULE["profiles-retry-assignments"] = {"task": "profiles.retry_due_assignments", "schedule": 300.0}
# Company Portal licence counts of every VPP token, from Apple's Apps and Books service.
CELERY_BEAT_SCHEDULE["profiles-refresh-vpp-licences"] = {
    "task": "profiles.refresh_vpp_licences",
    "schedule": float(env_int("VPP_LICENSES_REFRESH_S", 6 * 3600)),
}
# Alert emails and webhooks. Hourly is safe: each alert goes out once per level however often this runs.
CELERY_BEAT_SCHEDULE["alerts-notify"] = {"task": "overview.alerts.tasks.alerts_notify_task", "schedule": 3600.0}

# Alert email (Tenant administration > Notifications picks the recipients). The console backend prints them.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "DEP Portal <depportal@localhost>")
# The console's public address (e.g. https://dep.example.com), for links in alert emails and webhooks.
DEPPORTAL_PUBLIC_URL = env("DEPPORTAL_PUBLIC_URL", "")

# Apple's DEP web service (the embedded run points this at depsim).
APPLE_DEP_BASE_URL = env("APPLE_DEP_BASE_URL", "https://mdmenrollment.apple.com")
APPLE_DEP_USER_AGENT = env("APPLE_DEP_USER_AGENT", "depportal/0.1")
APPLE_DEP_CONNECT_TIMEOUT_S = env_int("APPLE_DEP_CONNECT_TIMEOUT_S", 5)
APPLE_DEP_READ_TIMEOUT_S = env_int("APPLE_DEP_READ_TIMEOUT_S", 60)
APPLE_DEP_MAX_RETRIES = env_int("APPLE_DEP_MAX_RETRIES", 5)
APPLE_DEP_MAX_RETRY_WAIT_S = env_int("APPLE_DEP_MAX_RETRY_WAIT_S", 300)
APPLE_DEP_RATE_PER_TOKEN = env_int("APPLE_DEP_RATE_PER_TOKEN", 10)
APPLE_DEP_RATE_GLOBAL = env_int("APPLE_DEP_RATE_GLOBAL", 100)
# Apple's Apps and Books for Organizations service (VPP licences; the embedded run points it at depsim).
APPLE_VPP_BASE_URL = env("APPLE_VPP_BASE_URL", "https://vpp.itunes.apple.com/mdm/v2")
APPLE_VPP_TIMEOUT_S = env_int("APPLE_VPP_TIMEOUT_S", 20)
# The App Store id (adamId) of Microsoft's Intune Company Portal, whose licences the profiles spend.
VPP_COMPANY_PORTAL_ADAM_ID = env("VPP_COMPANY_PORTAL_ADAM_ID", "719171358")
# Apple School and Business Manager API (the embedded run points both at depsim). Empty: Apple's own
# (api-business.apple.com or api-school.apple.com by the API account's kind; account.apple.com for tokens).
APPLE_BUSINESS_API_URL = env("APPLE_BUSINESS_API_URL", "")
APPLE_BUSINESS_TOKEN_URL = env("APPLE_BUSINESS_TOKEN_URL", "")
# Seconds between polls of a device activity at Apple, and the window in which webhook events for a token
# share one delta sync.
BUSINESS_ACTIVITY_POLL_S = env_int("BUSINESS_ACTIVITY_POLL_S", 5)
BUSINESS_WEBHOOK_WINDOW_S = env_int("BUSINESS_WEBHOOK_WINDOW_S", 300)
# The organisation's inventory is read again on this schedule (and on demand); a refresh whose heartbeat is
# older than the lease has lost its worker and the next one takes over.
BUSINESS_INVENTORY_REFRESH_S = env_int("BUSINESS_INVENTORY_REFRESH_S", 6 * 3600)
BUSINESS_INVENTORY_LEASE_S = env_int("BUSINESS_INVENTORY_LEASE_S", 300)
CELERY_BEAT_SCHEDULE["business-inventory-refresh"] = {
    "task": "business.tasks.inventory_refresh_scheduled_task",
    "schedule": float(BUSINESS_INVENTORY_REFRESH_S),
}
# How long the key pair of an add-token wizard stays usable (the wizard shows the deadline).
DEP_TOKEN_WIZARD_TTL_S = env_int("DEP_TOKEN_WIZARD_TTL_S", 3600)
# Enrollment profiles per token: the seed's 100 by default; Intune's current limit is 1,000.
DEP_MAX_PROFILES_PER_TOKEN = env_int("DEP_MAX_PROFILES_PER_TOKEN", 100)
# Sync rules (DESIGN.md, sync rules 1-4): seconds between full, automatic delta and manual syncs, and the
# time one sync may take.
DEP_FULL_SYNC_MIN_INTERVAL_S = env_int("DEP_FULL_SYNC_MIN_INTERVAL_S", 7 * 86400)
DEP_DELTA_SYNC_INTERVAL_S = env_int("DEP_DELTA_SYNC_INTERVAL_S", 86400)
DEP_MANUAL_SYNC_MIN_INTERVAL_S = env_int("DEP_MANUAL_SYNC_MIN_INTERVAL_S", 900)
DEP_SYNC_DEADLINE_S = env_int("DEP_SYNC_DEADLINE_S", 900)
# A running sync whose heartbeat is older than this has lost its worker; the reaper hands it to another.
DEP_SYNC_HEARTBEAT_LEASE_S = env_int("DEP_SYNC_HEARTBEAT_LEASE_S", 120)
# Where the console's "Create a token for Apple's Device Enrollment Program" link goes.
APPLE_BUSINESS_MANAGER_URL = env("APPLE_BUSINESS_MANAGER_URL", "https://business.apple.com/")
# The MDM server's enrollment URL that Apple hands to devices (`url` in every enrollment profile).
DEP_MDM_ENROLLMENT_URL = env("DEP_MDM_ENROLLMENT_URL", "https://mdm.example.invalid/enroll")

# One JSON object per line in production (DEPPORTAL_LOG_FORMAT=json|plain), with task, job and token ids.
LOGGING = logging_config(env("DEPPORTAL_LOG_FORMAT", "plain" if DEBUG else "json"), env("DJANGO_LOG_LEVEL", "INFO"))
