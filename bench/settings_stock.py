"""Stock django-oauth-toolkit: DOT's defaults on the same project, middleware and database.

Only what the scenarios cannot run without is set: OpenID Connect with an RSA key (scenario 1 asks
for an ID token) and the scopes the scenarios request. Everything else is DOT's default: client
secrets hashed with Django's default password hasher (PBKDF2), tokens read from the database on every
request by DOT's own ``OAuth2Authentication``, DOT's own views and URLs, no caching.
"""

from __future__ import annotations

from bench.settings_ours import *  # noqa: F403
from bench.settings_ours import INSTALLED_APPS, OIDC_RSA_PRIVATE_KEY
from provider_app.conf import SCOPES

ROOT_URLCONF = "bench.urls_stock"

# DOT alone: provider_app's signals, checks and validator do not run (the tables stay, unused).
INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in ("provider_app", "client_app", "oauthsite")]  # noqa: F405

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "SCOPES": SCOPES,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["oauth2_provider.contrib.rest_framework.OAuth2Authentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
