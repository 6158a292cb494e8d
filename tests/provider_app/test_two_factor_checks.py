"""System checks of two-factor: django-otp installed, its middleware in place."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from provider_app.checks import OTP_MIDDLEWARE, check_two_factor_installed


def test_demo_settings_pass():
    assert check_two_factor_installed(None) == []


def test_missing_otp_middleware_is_an_error():
    middleware = [m for m in settings.MIDDLEWARE if m != OTP_MIDDLEWARE]
    with override_settings(MIDDLEWARE=middleware):
        assert [e.id for e in check_two_factor_installed(None)] == ["provider_app.E021"]


def test_otp_middleware_before_authentication_is_an_error():
    middleware = [OTP_MIDDLEWARE, *[m for m in settings.MIDDLEWARE if m != OTP_MIDDLEWARE]]
    with override_settings(MIDDLEWARE=middleware):
        assert [e.id for e in check_two_factor_installed(None)] == ["provider_app.E021"]
