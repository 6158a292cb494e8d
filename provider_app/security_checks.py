"""System checks for the security hardening (docs/security.md): ids ``provider_app.W030``-``W033``."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register
from oauth2_provider.settings import oauth2_settings

AXES_BACKEND = "axes.backends.AxesStandaloneBackend"
AXES_MIDDLEWARE = "axes.middleware.AxesMiddleware"


@register(Tags.security)
def check_login_throttling(app_configs=None, **kwargs) -> list[Warning]:
    """P20: sign-in is throttled only when django-axes is installed, first backend and middleware."""
    installed = "axes" in settings.INSTALLED_APPS or "axes.apps.AppConfig" in settings.INSTALLED_APPS
    backends = list(getattr(settings, "AUTHENTICATION_BACKENDS", []))
    if installed and backends[:1] == [AXES_BACKEND] and AXES_MIDDLEWARE in settings.MIDDLEWARE:
        return []
    return [
        Warning(
            "Sign-in is not throttled: django-axes is not fully configured.",
            hint=(
                f'Add "axes" to INSTALLED_APPS, put "{AXES_BACKEND}" first in AUTHENTICATION_BACKENDS and '
                f'"{AXES_MIDDLEWARE}" last in MIDDLEWARE (docs/security.md, Login throttling).'
            ),
            id="provider_app.W030",
        )
    ]


@register(Tags.security)
def check_axes_handler(app_configs=None, **kwargs) -> list[Warning]:
    """P20: the growing per-account and per-IP delays come from provider_app's axes handler."""
    handler = getattr(settings, "AXES_HANDLER", "")
    if (
        "axes" not in settings.INSTALLED_APPS
        or handler == "provider_app.throttling.ProgressiveLockoutHandler"
    ):
        return []
    return [
        Warning(
            "django-axes does not use provider_app's handler: no per-IP limit, no growing delays.",
            hint='Set AXES_HANDLER = "provider_app.throttling.ProgressiveLockoutHandler" (docs/security.md).',
            id="provider_app.W031",
        )
    ]


@register(Tags.security)
def check_refresh_grace_period(app_configs=None, **kwargs) -> list[Warning]:
    """P8: provider_app treats every second use of a refresh token as reuse; a grace period is moot."""
    if not oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS:
        return []
    return [
        Warning(
            "REFRESH_TOKEN_GRACE_PERIOD_SECONDS has no effect: a refresh token used twice revokes its "
            "family.",
            hint="Set it to 0 (tokens are stored hashed; a retry cannot be answered with the same pair).",
            id="provider_app.W032",
        )
    ]


@register(Tags.security)
def check_token_cache_backend(app_configs=None, **kwargs) -> list[Warning]:
    """P23: the token cache is used only where it can fail closed (Redis, or one local process)."""
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache
    from django.core.cache.backends.redis import RedisCache
    from django.utils.module_loading import import_string

    from provider_app.app_settings import app_settings

    alias = app_settings.TOKEN_CACHE
    if not alias or alias not in settings.CACHES:
        return []
    backend = settings.CACHES[alias].get("BACKEND", "")
    try:
        backend_class = import_string(backend)
    except ImportError:
        return []
    if issubclass(backend_class, RedisCache | DummyCache | LocMemCache):
        return []  # used; off (dummy); process-local: used only with TOKEN_CACHE_ALLOW_LOCAL
    return [
        Warning(
            f"PROVIDER_APP_TOKEN_CACHE names the cache {alias!r} ({backend}), which the token cache "
            "does not use: it cannot fail closed there.",
            hint=(
                "Point it at Django's RedisCache, or set PROVIDER_APP_TOKEN_CACHE = None "
                "(docs/security.md, Shared cache)."
            ),
            id="provider_app.W033",
        )
    ]
