"""Settings shared by the demo services, read from the environment so that the same service can be
pointed at any provider:

=========================  ==========================================================================
``SERVICE_ISSUER``         the provider's issuer (its endpoints come from discovery)
``SERVICE_AUDIENCE``       this service's resource identifier at the provider (the tokens' ``aud``)
``SERVICE_MODE``           ``jwt``, ``introspection`` or ``auto`` (resource_app's validation mode)
``SERVICE_CLIENT_ID``      this service's own client (introspection and token exchange)
``SERVICE_CLIENT_SECRET``  its secret
``SERVICE_SCOPE``          the scope a caller needs
``SERVICE_ALLOWED_ACTORS`` optional: the only clients that may act for the user here (space-separated)
``SERVICE_NEXT_AUDIENCE``  optional: the service this one calls for the same user (token exchange)
``SERVICE_NEXT_SCOPE``     the scope it asks for there
``SERVICE_DATABASE``       this service's SQLite file (required; ``migrate`` it: the deny-list)
``SERVICE_DEBUG``          ``1`` lets the issuer be http on localhost (the demo); default off
=========================  ==========================================================================

A service module sets ``SERVICE_NAME`` and its defaults, then imports this one.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set {name} (see services/settings.py).")
    return value


def service_settings(name: str, **defaults: str) -> dict:
    """The Django settings of the service ``name``; ``defaults`` are the demo's ``SERVICE_*`` values."""

    def value(key: str, fallback: str | None = None) -> str:
        return env(f"SERVICE_{key}", defaults.get(key, fallback))

    debug = value("DEBUG", "0") == "1"
    secret_key = os.environ.get("SERVICE_SECRET_KEY") or ("demo-service-key-not-a-secret" if debug else None)
    if not secret_key:
        raise ImproperlyConfigured("Set SERVICE_SECRET_KEY (or SERVICE_DEBUG=1 for the demo).")
    return {
        "SERVICE_NAME": name,
        "SECRET_KEY": secret_key,
        "DEBUG": debug,
        "ALLOWED_HOSTS": value("ALLOWED_HOSTS", "127.0.0.1 localhost").split(),
        "INSTALLED_APPS": ["resource_app"],
        "MIDDLEWARE": ["django.middleware.common.CommonMiddleware"],
        "ROOT_URLCONF": "services.urls",
        # A file (or set DATABASE_URL-style settings of your own): resource_app's deny-list of
        # revoked tokens lives there, shared by every worker; ``migrate`` creates it.
        "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": value("DATABASE")}},
        "USE_TZ": True,
        "RESOURCE_APP_ISSUER": value("ISSUER"),
        "RESOURCE_APP_AUDIENCE": value("AUDIENCE"),
        "RESOURCE_APP_MODE": value("MODE", "jwt"),
        "RESOURCE_APP_CLIENT_ID": value("CLIENT_ID", ""),
        "RESOURCE_APP_CLIENT_SECRET": value("CLIENT_SECRET", ""),
        # The demo shows a revocation refused on the next call: introspection answers are not kept.
        "RESOURCE_APP_INTROSPECTION_CACHE_SECONDS": int(value("INTROSPECTION_CACHE_SECONDS", "0")),
        "SERVICE_SCOPE": value("SCOPE"),
        "SERVICE_ALLOWED_ACTORS": value("ALLOWED_ACTORS", "").split() or None,
        "SERVICE_NEXT_AUDIENCE": value("NEXT_AUDIENCE", ""),
        "SERVICE_NEXT_SCOPE": value("NEXT_SCOPE", ""),
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"console": {"class": "logging.StreamHandler"}},
            "loggers": {"resource_app": {"handlers": ["console"], "level": "INFO"}},
        },
    }
