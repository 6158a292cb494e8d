"""Settings for the test suite: the project's settings in demo mode with fast user password hashing.

SQLite by default; PostgreSQL when DATABASE_URL is set (CI runs both).
"""

import os
import tempfile

os.environ.setdefault("OAUTHSITE_DEMO", "1")
os.environ.setdefault("OAUTHSITE_DEMO_DIR", os.path.join(tempfile.gettempdir(), "oauthsite-test-secrets"))

from oauthsite.settings import *  # noqa: E402,F403
from oauthsite.settings import PASSWORD_HASHERS as _PROJECT_HASHERS  # noqa: E402

# Users' passwords are hashed with MD5 in tests only, to keep the suite fast; client secrets keep
# their production hasher so that the tests exercise it.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *_PROJECT_HASHERS]
ALLOWED_HOSTS = ["*"]
DEBUG = False
# The tests run providers on loopback (live servers); the C13 tests turn this off.
CLIENT_APP_ALLOW_LOOPBACK_ENDPOINTS = True
# ... and the provider delivers logout tokens and events to receivers on loopback (a test that the
# production default refuses them turns this off).
PROVIDER_APP_DELIVERY_ALLOW_LOOPBACK = True

# resource_app (tests/resource_app/): a service accepting this provider's tokens; the tests point it
# at a fake provider (tests/resource_app/conftest.py).
INSTALLED_APPS = [*INSTALLED_APPS, "resource_app"]  # noqa: F405
RESOURCE_APP_ISSUER = "https://provider.example.com/o"
RESOURCE_APP_AUDIENCE = "https://notes.example.com/"
RESOURCE_APP_CLIENT_ID = "notes-service"
RESOURCE_APP_CLIENT_SECRET = "notes-service-secret-for-tests-only"
