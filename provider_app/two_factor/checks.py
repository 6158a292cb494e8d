"""System checks for two-factor (ids ``provider_app.E020``-``E029``), registered on import."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core import checks

OTP_MIDDLEWARE = "django_otp.middleware.OTPMiddleware"


@checks.register(checks.Tags.security)
def check_two_factor_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    errors = [
        checks.Error(
            f"{app} is not installed; provider_app's two-factor needs it.",
            hint=f'Add "{app}" to INSTALLED_APPS.',
            id="provider_app.E020",
        )
        for app in ("django_otp", "django_otp.plugins.otp_totp")
        if not apps.is_installed(app)
    ]
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
    if OTP_MIDDLEWARE not in middleware or (
        auth in middleware and middleware.index(OTP_MIDDLEWARE) < middleware.index(auth)
    ):
        errors.append(
            checks.Error(
                "django-otp's OTPMiddleware is missing or comes before AuthenticationMiddleware.",
                hint=f'Add "{OTP_MIDDLEWARE}" to MIDDLEWARE right after AuthenticationMiddleware: without it '
                "no session counts as verified and the two-factor admin site refuses everyone.",
                id="provider_app.E021",
            )
        )
    return errors
