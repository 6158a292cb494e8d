"""A fresh service project, as a user of resource_app writes one (docs/microservices.md, "A service
in five minutes"): only Django's auth pieces, DRF and resource_app installed (no provider_app, no
client_app), and three settings naming the provider, this service and the validation mode (plus the
service's own credentials for introspection). Every other RESOURCE_APP_* setting keeps its default:
the introspection cache (30 s) and the deny-list (on, in the project's database, created by
`migrate`).

The values come from the environment, so the same project runs against any provider:
tests/e2e/test_fresh_service_project.py runs `migrate` on a new SQLite file (SERVICE_DATABASE) and
starts it against provider_app and against panva's oidc-provider, in both modes."""

from __future__ import annotations

import os

SECRET_KEY = "service-project-test-key-not-a-secret"  # noqa: S105 (a test process on 127.0.0.1)
# The providers of the tests listen on http://127.0.0.1, which resource_app accepts only in DEBUG
# (resource_app.E001); everywhere else the issuer must be https.
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "resource_app"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "tests.e2e.service_project.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SERVICE_DATABASE"]}}
USE_TZ = True

# The three settings.
RESOURCE_APP_ISSUER = os.environ["SERVICE_ISSUER"]
RESOURCE_APP_AUDIENCE = os.environ["SERVICE_AUDIENCE"]
RESOURCE_APP_MODE = os.environ["SERVICE_MODE"]
# Introspection only: the service's own client at the provider.
RESOURCE_APP_CLIENT_ID = os.environ.get("SERVICE_CLIENT_ID", "")
RESOURCE_APP_CLIENT_SECRET = os.environ.get("SERVICE_CLIENT_SECRET", "")
