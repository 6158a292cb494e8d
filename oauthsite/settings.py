"""Settings of the oauthsite demo project, read from the environment with safe defaults.

Environment:
  DJANGO_DEBUG=1            debug pages (never in production)
  OAUTHSITE_DEMO=1          generate missing secrets once into OAUTHSITE_DEMO_DIR (default .demo/)
  SECRET_KEY[_FILE]         Django's secret key (required outside demo mode)
  OIDC_RSA_PRIVATE_KEY[_FILE]  PEM private key that signs ID tokens (required outside demo mode)
  CLIENT_APP_ENCRYPTION_KEYS[_FILE]  comma-separated Fernet keys, newest first (client_app secrets)
  PROVIDER_APP_ISSUER       the provider's issuer URL, e.g. https://id.example.com/o
  DATABASE_URL              e.g. postgres://postgres@127.0.0.1:5432/test (SQLite otherwise)
  DATABASE_PREPARED_STATEMENTS=0  PostgreSQL: no server-side binding and prepared statements
                            (needed behind PgBouncer < 1.21 in transaction pooling mode)
  REDIS_URL                 e.g. redis://127.0.0.1:6379/0 (local-memory cache otherwise)
  ALLOWED_HOSTS             comma-separated
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django

from oauthsite.secrets import (
    generate_fernet_key,
    generate_rsa_private_key,
    generate_secret_key,
    read_secret,
)
from provider_app.conf import recommended_oauth2_provider_settings

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "").lower() in ("1", "true", "yes", "on")


DEBUG = env_flag("DJANGO_DEBUG")
DEMO = env_flag("OAUTHSITE_DEMO")
DEMO_DIR = Path(os.environ.get("OAUTHSITE_DEMO_DIR", BASE_DIR / ".demo")) if DEMO else None

SECRET_KEY = read_secret(
    "SECRET_KEY", demo_dir=DEMO_DIR, file_name="secret_key", generate=generate_secret_key
)
OIDC_RSA_PRIVATE_KEY = read_secret(
    "OIDC_RSA_PRIVATE_KEY", demo_dir=DEMO_DIR, file_name="oidc_rsa.pem", generate=generate_rsa_private_key
)
CLIENT_APP_ENCRYPTION_KEYS = [
    key.strip()
    for key in read_secret(
        "CLIENT_APP_ENCRYPTION_KEYS", demo_dir=DEMO_DIR, file_name="fernet_keys", generate=generate_fernet_key
    ).split(",")
    if key.strip()
]

_default_hosts = "localhost,127.0.0.1,[::1]" if (DEBUG or DEMO) else ""
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", _default_hosts).split(",") if h.strip()]

INSTALLED_APPS = [
    # Django's admin with provider_app's admin site: staff must pass two-factor to use it.
    "provider_app.two_factor.apps.TwoFactorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    # Django's tasks framework: django.tasks on Django 6, the django-tasks backport on 5.2; the
    # database backend (django-tasks-db) stores tasks for `manage.py db_worker`.
    *([] if django.VERSION >= (6, 0) else ["django_tasks"]),
    "django_tasks_db",
    "provider_app",
    "client_app",
    "oauthsite",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Back-channel logout finds sessions whose key changed after the login (client_app).
    "client_app.middleware.ProviderSessionMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Login throttling (P20): turns a lockout flagged during authenticate() into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "oauthsite.urls"
WSGI_APPLICATION = "oauthsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "oauthsite" / "templates"],
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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (runserver, live_server) write at once: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif env_flag("DATABASE_PREPARED_STATEMENTS", default=True):
    # Server-side parameters, and a statement run five times on a connection is prepared: PostgreSQL
    # then parses and plans it once per connection instead of on every request (the token
    # endpoint's statements: about two thirds of its database CPU, see docs/performance.md).
    # Django leaves this off by default for connection poolers that do not keep prepared statements
    # (PgBouncer before 1.21 in transaction mode): turn it off there with DATABASE_PREPARED_STATEMENTS=0.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

if redis_url := os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # High-entropy OAuth client secrets only: refuses anything shorter than 32 characters.
    "provider_app.hashers.ClientSecretSHA256Hasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "provider_app:login"
LOGIN_REDIRECT_URL = "/"

# Login throttling (P20, provider_app.throttling): django-axes counts failures in the database (shared
# by every worker), per IP and per account, and sign-in waits grow with the failures up to a cap.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "provider_app.throttling.ProgressiveLockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCK_OUT_AT_FAILURE = False  # ProgressiveLockoutHandler decides, with per-parameter limits
AXES_COOLOFF_TIME = 24  # hours after the last failure before failures are forgotten
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # tries during a lockout do not extend it
AXES_LOCKOUT_CALLABLE = "provider_app.throttling.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "csrfmiddlewaretoken"]
AXES_VERBOSE = False
# Behind a reverse proxy, set AXES_IPWARE_PROXY_COUNT / AXES_IPWARE_META_PRECEDENCE_ORDER (docs/security.md).

# Two-factor (provider_app.two_factor): the name authenticator apps show; PROVIDER_APP_REQUIRE_TWO_FACTOR
# makes every authorization need a second factor (per client: ClientPolicy.require_two_factor).
PROVIDER_APP_TWO_FACTOR_ISSUER = os.environ.get("PROVIDER_APP_TWO_FACTOR_ISSUER", "oauthsite")
PROVIDER_APP_REQUIRE_TWO_FACTOR = env_flag("PROVIDER_APP_REQUIRE_TWO_FACTOR")
# RFC 6238 5.2: never widen the accepted window by learned drift (provider_app resets it anyway).
OTP_TOTP_SYNC = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG and not DEMO
CSRF_COOKIE_SECURE = not DEBUG and not DEMO
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not DEMO:
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

OAUTH2_PROVIDER = recommended_oauth2_provider_settings(
    OIDC_RSA_PRIVATE_KEY=OIDC_RSA_PRIVATE_KEY,
    OIDC_ISS_ENDPOINT=os.environ.get("PROVIDER_APP_ISSUER", ""),
)

# Background work (provider_app's outbox: logout tokens to clients, L7/L8): tasks rest in the
# database and `manage.py db_worker` runs them. Another queue (Celery, RQ, a cloud service) is a
# different BACKEND here, no code change (docs/operations.md).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["provider_app.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # oauthlib logs request bodies (codes, secrets) at DEBUG: never let that through.
        "oauthlib": {"level": "WARNING"},
        "provider_app": {"level": "INFO"},
        "client_app": {"level": "INFO"},
    },
}
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]  # see provider_app.checks.SILENCED
