"""System checks for client_app, with stable ids (``client_app.E001`` ...)."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from client_app.app_settings import app_settings


@register(Tags.security)
def check_encryption_keys(app_configs, **kwargs):
    keys = app_settings.ENCRYPTION_KEYS
    if not keys:
        return [
            Error(
                "CLIENT_APP_ENCRYPTION_KEYS is empty: client secrets and tokens cannot be encrypted.",
                hint='Generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="client_app.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"CLIENT_APP_ENCRYPTION_KEYS[{position}] is not a Fernet key.",
                    hint="A Fernet key is 32 random bytes in urlsafe base64 (44 characters).",
                    id="client_app.E002",
                )
            )
    return errors


@register()
def check_adapter(app_configs, **kwargs):
    try:
        import_string(app_settings.ADAPTER)
    except ImportError:
        return [
            Error(f"CLIENT_APP_ADAPTER {app_settings.ADAPTER!r} cannot be imported.", id="client_app.E003")
        ]
    return []


@register()
def check_session_middleware(app_configs, **kwargs):
    middleware = getattr(settings, "MIDDLEWARE", [])
    if "django.contrib.sessions.middleware.SessionMiddleware" not in middleware:
        return [
            Error(
                "client_app binds each login to the browser session: SessionMiddleware is missing.",
                id="client_app.E004",
            )
        ]
    return []


@register(Tags.security)
def check_timeout(app_configs, **kwargs):
    timeout = app_settings.HTTP_TIMEOUT
    values = timeout if isinstance(timeout, tuple | list) else [timeout]
    if not values or any(value is None or value <= 0 for value in values):
        return [
            Error(
                "CLIENT_APP_HTTP_TIMEOUT must be a positive number of seconds (or a pair): every call to a "
                "provider needs a timeout.",
                id="client_app.E005",
            )
        ]
    return []


@register(Tags.security)
def check_email_linking(app_configs, **kwargs):
    if app_settings.LINK_BY_VERIFIED_EMAIL:
        return [
            Warning(
                "CLIENT_APP_LINK_BY_VERIFIED_EMAIL is on: a provider marked trust_email_verified "
                "can sign in as any local user with the same verified e-mail address.",
                hint="Mark only providers that really verify addresses (and own their domain).",
                id="client_app.W001",
            )
        ]
    return []


@register(Tags.security)
def check_session_engine(app_configs, **kwargs):
    if getattr(settings, "SESSION_ENGINE", "") == "django.contrib.sessions.backends.signed_cookies":
        return [
            Warning(
                "Sessions live in signed cookies: a back-channel logout from a provider cannot end them.",
                hint="Use a server-side session engine (db, cache or cached_db) for OpenID Connect "
                "back-channel logout.",
                id="client_app.W002",
            )
        ]
    return []


@register()
def check_provider_session_middleware(app_configs, **kwargs):
    if "client_app.middleware.ProviderSessionMiddleware" not in getattr(settings, "MIDDLEWARE", []):
        return [
            Warning(
                "client_app.middleware.ProviderSessionMiddleware is missing: a back-channel logout does not "
                "end a session whose key changed after its login (a password change).",
                hint="Add it to MIDDLEWARE after SessionMiddleware.",
                id="client_app.W003",
            )
        ]
    return []
