"""Django settings: every value comes from the environment, read here and nowhere else.

Development (the default) starts embedded PostgreSQL and Redis servers under
`INTERLOCK_DATA_DIR`. Production (`INTERLOCK_ENV=production`) refuses to start without a
secret key, a master key, external services and `DEBUG` off.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

from interlock import embedded

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent.parent

env = environ.Env()
ENVIRONMENT = env.str("INTERLOCK_ENV", default="development")
PRODUCTION = ENVIRONMENT == "production"
TESTING = env.bool("INTERLOCK_TESTING", default=False)

DATA_DIR = Path(env.str("INTERLOCK_DATA_DIR", default=str(REPO_DIR / "var"))).resolve()


class ImproperlyConfiguredForProduction(RuntimeError):
    """Production settings are missing something that must never have a default."""


def _required_in_production(name: str) -> str | None:
    value = env.str(name, default="") or None
    if PRODUCTION and not value:
        raise ImproperlyConfiguredForProduction(f"{name} must be set when INTERLOCK_ENV=production")
    return value


def _development_secret(name: str) -> str:
    """A per-installation random secret kept in the data directory (development only)."""
    import secrets

    path = DATA_DIR / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


# Off unless asked for, in development and the demo too: Django's debug page shows settings
# (the broker URL with its password) and tracebacks to whoever triggers an error (SECURITY.md).
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfiguredForProduction("DEBUG must be off when INTERLOCK_ENV=production")

SECRET_KEY = _required_in_production("DJANGO_SECRET_KEY") or _development_secret("django_secret_key")
# The master key wraps every organisation key version. In production it comes from the
# environment or a secret file (INTERLOCK_MASTER_KEY_FILE); a KMS provider can replace it.
INTERLOCK_MASTER_KEY = env.str("INTERLOCK_MASTER_KEY", default="") or None
INTERLOCK_MASTER_KEY_FILE = env.str("INTERLOCK_MASTER_KEY_FILE", default="") or None
if PRODUCTION and not (INTERLOCK_MASTER_KEY or INTERLOCK_MASTER_KEY_FILE):
    raise ImproperlyConfiguredForProduction(
        "INTERLOCK_MASTER_KEY or INTERLOCK_MASTER_KEY_FILE must be set when INTERLOCK_ENV=production"
    )
if not (INTERLOCK_MASTER_KEY or INTERLOCK_MASTER_KEY_FILE):
    INTERLOCK_MASTER_KEY_FILE = str(DATA_DIR / "secrets" / "master_key")

# Development's default is what Django allows a DEBUG server on its own, plus the test client's.
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=[] if PRODUCTION else [".localhost", "localhost", "127.0.0.1", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- services -------------------------------------------------------------------------
_database_url = env.str("DATABASE_URL", default="") or None
if PRODUCTION and not _database_url:
    raise ImproperlyConfiguredForProduction("DATABASE_URL must be set when INTERLOCK_ENV=production")
if _database_url is None:
    _database_url = embedded.ensure_postgres(DATA_DIR).url
DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str("DATABASE_TEST_NAME", default="test_interlock")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or None
if PRODUCTION and not CELERY_BROKER_URL:
    raise ImproperlyConfiguredForProduction("CELERY_BROKER_URL must be set when INTERLOCK_ENV=production")
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = embedded.ensure_redis(DATA_DIR).url

# --- Django ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "guardian",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "interlock.core",
    "interlock.audit",
    "interlock.accounts",
    "interlock.network",
    "interlock.crypto",
    "interlock.artifacts",
    "interlock.notifications",
    "interlock.findings",
    "interlock.checkpoints",
    "interlock.datasets",
    "interlock.analyses",
    "interlock.disclosure",
    "interlock.api",
    "interlock.web",
    "interlock.demo",
]

MIDDLEWARE = [
    "interlock.core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "interlock.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "interlock.accounts.middleware.SessionLifetimeMiddleware",
    "interlock.accounts.middleware.NetworkGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "interlock.core.middleware.NoStoreForAuthenticatedMiddleware",
    "interlock.web.middleware.MethodNotAllowedPageMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "interlock.urls"
WSGI_APPLICATION = "interlock.wsgi.application"
AUTH_USER_MODEL = "accounts.Person"
CSRF_FAILURE_VIEW = "interlock.web.error_views.csrf_failure"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "interlock.core.middleware.csp_nonce",
                "interlock.web.navigation.navigation",
            ],
        },
    },
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# With DEBUG off whitenoise serves only STATIC_ROOT (collectstatic: the image and the demo run it);
# in development it also finds the apps' files, so `runserver` has its stylesheet without one.
WHITENOISE_USE_FINDERS = not PRODUCTION
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"

# Django's cache holds only short-lived counters (rate limits). Local memory by default, so each
# process counts on its own; CACHE_URL=redis://… shares one count across the web tier.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# The internal job API: calls whose worker credential does not verify, per client address.
JOB_API_BAD_CALLS_PER_MINUTE = env.int("JOB_API_BAD_CALLS_PER_MINUTE", default=30)
JOB_API_REFUSAL_AUDIT_SECONDS = env.int("JOB_API_REFUSAL_AUDIT_SECONDS", default=3600)

# --- storage: ciphertext only ----------------------------------------------------------
INTERLOCK_KEYRING_DIR = env.str("INTERLOCK_KEYRING_DIR", default=str(DATA_DIR / "keyring"))
ARTIFACT_MAX_BYTES = env.int("ARTIFACT_MAX_BYTES", default=64 * 1024**3)
INTERLOCK_STORAGE = env.str("INTERLOCK_STORAGE", default="filesystem")
if INTERLOCK_STORAGE == "s3":
    _artifact_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env.str("S3_REGION", default="us-east-1"),
            "default_acl": None,
            "file_overwrite": False,
        },
    }
else:
    _artifact_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("ARTIFACT_STORAGE_DIR", default=str(DATA_DIR / "blobs")),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "artifacts": _artifact_storage,
}
# No upload ever falls back to Django's plaintext temporary files: upload views install the
# encrypting handler, and everything else refuses files.
FILE_UPLOAD_HANDLERS = ["interlock.artifacts.upload.RefuseUploadHandler"]

# Request bodies: the API accepts JSON of bounded size; uploads stream through our own handler.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- sessions and cookies (SECURITY.md: idle 30 min, absolute 12 h) -----------------
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SESSION_IDLE_MINUTES", default=30))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env.int("SESSION_ABSOLUTE_HOURS", default=12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
REAUTH_MAX_AGE = timedelta(minutes=10)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- login throttling (django-axes) ---------------------------------------------------
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "interlock.web.account_views.lockout_response"
# Number of trusted reverse proxies in front of the web tier (1 behind the shipped nginx): the
# client is the entry the outermost one appended to X-Forwarded-For; entries to its left are the
# client's own invention and ignored (interlock.core.addresses). 0: the connection's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "interlock.core.addresses.client_address"
AXES_VERBOSE = False

# --- MFA --------------------------------------------------------------------------------
OTP_TOTP_ISSUER = "Interlock"
OTP_TOTP_THROTTLE_FACTOR = 1

# --- guardian: our policy decides; guardian only stores grants -----------------------
# Guardian's auth backend is deliberately not installed: `user.has_perm(perm, obj)` must
# never answer for protected objects (it says yes to any active superuser).
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "interlock.api.authentication.BearerTokenAuthentication",
        "interlock.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["interlock.api.permissions.IsNetworkMember"],
    "DEFAULT_PARSER_CLASSES": ["interlock.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["interlock.api.renderers.ScopedJSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "interlock.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "interlock.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "interlock.api.schema.InterlockAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Interlock API",
    "DESCRIPTION": "Vetted sharing of interpretability findings and approved analyses on private checkpoints.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # choice sets that share a field name ("state", "target", "choice") get names of their own
    "ENUM_NAME_OVERRIDES": {
        "DisclosureCaseStateEnum": "interlock.disclosure.models.CaseState",
        "DisclosureEmbargoStateEnum": "interlock.disclosure.models.EmbargoState",
        "DisclosureTargetEnum": "interlock.disclosure.models.Target",
        "DisclosureVoteChoiceEnum": "interlock.disclosure.models.VoteChoice",
    },
}

# --- Celery (JSON only, late acks, prefetch 1) ------------------------------------------
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
# The broker lease must outlive the hard limit, or Redis redelivers a running task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_WORKER_MAX_TASKS_PER_CHILD = 20
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "platform"
CELERY_BEAT_SCHEDULE = {
    "audit-seal": {"task": "interlock.audit.seal", "schedule": env.int("AUDIT_SEAL_SECONDS", default=300)},
    "analysis-sweep": {
        "task": "interlock.analyses.sweep",
        "schedule": env.int("ANALYSIS_SWEEP_SECONDS", default=30),
    },
    "disclosure-release": {
        "task": "interlock.disclosure.release_due",
        "schedule": env.int("DISCLOSURE_RELEASE_SECONDS", default=60),
    },
}

# --- the job protocol (platform ↔ workers) ----------------------------------------------
_SECRETS = DATA_DIR / "secrets"
JOB_SIGNING_KEY_FILE = env.str("JOB_SIGNING_KEY_FILE", default=str(_SECRETS / "job_signing_ed25519"))
JOB_RESULT_KEY_FILE = env.str("JOB_RESULT_KEY_FILE", default=str(_SECRETS / "job_result_x25519"))
WORKER_FLEET_KEY_FILE = env.str("WORKER_FLEET_KEY_FILE", default=str(_SECRETS / "worker_fleet_x25519"))
WORKER_CREDENTIAL_FILE = env.str("WORKER_CREDENTIAL_FILE", default=str(_SECRETS / "worker_credential"))
WORKER_FLEET_ID = env.str("WORKER_FLEET_ID", default="cpu-fleet")
ANALYSIS_QUEUE = env.str("ANALYSIS_QUEUE", default="cpu")
# The queue GPU workers (WORKER_DEVICE=cuda) consume; empty when the deployment has none.
ANALYSIS_GPU_QUEUE = env.str("ANALYSIS_GPU_QUEUE", default="")
JOB_TICKET_SECONDS = env.int("JOB_TICKET_SECONDS", default=3600)
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=120)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)

# --- audit ------------------------------------------------------------------------------
AUDIT_SEAL_KEY_FILE = env.str("AUDIT_SEAL_KEY_FILE", default="") or str(
    DATA_DIR / "secrets" / "audit_seal_ed25519"
)

# --- e-mail -----------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="interlock@localhost")
# /metrics answers only this bearer token (unset: /metrics is a 404). Never commit a value.
METRICS_TOKEN = env.str("INTERLOCK_METRICS_TOKEN", default="")
# Used only with the file-based backend (the demo writes its notification e-mails there).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "mail"))
INTERLOCK_BASE_URL = env.str("INTERLOCK_BASE_URL", default="http://127.0.0.1:8000/")

# --- logging: structured JSON lines, never secrets -------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "interlock.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO (the demo and the worker make many); keep warnings and up.
    "loggers": {"axes": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
