"""provider_app as shipped (oauthsite's settings), plus the floor views, served over plain HTTP.

Only what a benchmark on 127.0.0.1 needs differs from production: the URLconf adds the two floor
views, the host is 127.0.0.1 and there is no TLS in front of gunicorn, so no HTTPS redirect.
"""

from __future__ import annotations

import os

from oauthsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_ours"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEBUG = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_PROXY_SSL_HEADER = None
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The benchmark serves plain HTTP on 127.0.0.1 (no TLS terminator in front of gunicorn), so its
# issuer is http://127.0.0.1:<port>/o; production keeps the https-only check.
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "provider_app.E004"]  # noqa: F405
# For the same reason the client side (scenario 6) reaches that issuer over http on loopback (C13).
CLIENT_APP_ALLOW_LOOPBACK_ENDPOINTS = True
# ... and the bench's services, on loopback too, register their http events URI (scenario 7c, E1).
PROVIDER_APP_DELIVERY_ALLOW_LOOPBACK = True
# The audience of the bench's tokens (requested without ``resource``), the same whatever port each
# run's server gets: the resource server client is created for it (bench/fixtures.py).
PROVIDER_APP_DEFAULT_AUDIENCE = "https://bench.invalid/api"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # Several gunicorn workers write at once: BEGIN IMMEDIATE takes the write lock up front, so a
    # transaction waits for it (busy timeout) instead of failing with "database is locked" when it
    # tries to upgrade a read lock. Stock DOT inherits the same database settings.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"  # noqa: F405

# Each benchmark run starts with a fresh database: its cache entries must not meet an earlier run's.
if "BENCH_CACHE_PREFIX" in os.environ:
    for _cache in CACHES.values():  # noqa: F405
        _cache["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"]
