"""A small service protected by resource_app, as issue 13 asks a microservice to be: only Django's
auth pieces, DRF and resource_app. The provider, audience and mode come from the environment the
harness sets (bench/services.py). Its only database use is resource_app's deny-list (E3): in JWT mode
the harness gives it a migrated SQLite file, mounts the revocation-event receiver at ``events/`` and
turns the deny-list on; the introspection-mode services keep an unused ``:memory:`` database."""

from __future__ import annotations

import os

SECRET_KEY = "bench-service-not-a-secret"  # noqa: S105 (a benchmark process on 127.0.0.1)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "resource_app"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "bench.urls_service"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_SERVICE_DATABASE", ":memory:"),
        # The receiver writes while every worker reads the recent rows: WAL (set by the harness) and
        # the write lock taken up front, as for the provider's SQLite (bench/settings_ours.py).
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
USE_TZ = True
REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

RESOURCE_APP_ISSUER = os.environ.get("BENCH_PROVIDER_ISSUER", "")
RESOURCE_APP_AUDIENCE = os.environ.get("BENCH_SERVICE_AUDIENCE", "")
RESOURCE_APP_MODE = os.environ.get("BENCH_SERVICE_MODE", "jwt")
RESOURCE_APP_CLIENT_ID = os.environ.get("BENCH_SERVICE_CLIENT_ID", "")
RESOURCE_APP_CLIENT_SECRET = os.environ.get("BENCH_SERVICE_CLIENT_SECRET", "")
RESOURCE_APP_INTROSPECTION_CACHE_SECONDS = int(os.environ.get("BENCH_SERVICE_CACHE_SECONDS", "30"))
# On where the service receives revocation events (svc-jwt, bench/services.py: its database migrated).
RESOURCE_APP_DENY_LIST = os.environ.get("BENCH_SERVICE_DENY_LIST", "") == "1"
