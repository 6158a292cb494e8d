"""System checks of the security hardening: provider_app.W030-W033."""

from __future__ import annotations

from provider_app.checks import (
    check_axes_handler,
    check_login_throttling,
    check_refresh_grace_period,
    check_token_cache_backend,
)


def _ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_p20_check_passes_with_the_demo_settings():
    assert check_login_throttling() == []
    assert check_axes_handler() == []


def test_p20_check_warns_when_axes_is_not_the_first_backend(settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert _ids(check_login_throttling()) == ["provider_app.W030"]


def test_p20_check_warns_without_the_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "axes" not in m]
    assert _ids(check_login_throttling()) == ["provider_app.W030"]


def test_p20_check_warns_about_another_axes_handler(settings):
    settings.AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
    assert _ids(check_axes_handler()) == ["provider_app.W031"]


def test_p8_check_warns_about_a_grace_period(settings):
    from oauth2_provider.settings import oauth2_settings

    assert check_refresh_grace_period() == []
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 10}
    oauth2_settings.reload()
    try:
        assert _ids(check_refresh_grace_period()) == ["provider_app.W032"]
    finally:
        settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0}
        oauth2_settings.reload()


def test_p23_check_warns_about_a_token_cache_that_cannot_fail_closed(settings):
    assert check_token_cache_backend() == []
    settings.CACHES = {
        **settings.CACHES,
        "tokens": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"},
    }
    settings.PROVIDER_APP_TOKEN_CACHE = "tokens"
    assert _ids(check_token_cache_backend()) == ["provider_app.W033"]
    settings.CACHES = {
        **settings.CACHES,
        "tokens": {"BACKEND": "django.core.cache.backends.redis.RedisCache"},
    }
    assert check_token_cache_backend() == []
