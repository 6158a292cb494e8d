"""Audit receivers for sign-in events (Django's auth signals), connected in ``AppConfig.ready()``.

The password step's signals come from ``authenticate()``/``login()``/``logout()``; lockouts are
recorded by :func:`provider_app.throttling.lockout_response`; two-factor events by
``provider_app.two_factor`` itself; token events by the validator.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from provider_app import audit


def on_logged_in(sender, request, user, **kwargs) -> None:
    audit.record(audit.LOGIN_SUCCEEDED, request=request, user=user)


def on_logged_out(sender, request, user, **kwargs) -> None:
    audit.record(audit.LOGOUT, request=request, user=user)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already replaced the password in ``credentials``; only the username is kept,
    # linked to the account when one exists (the page itself never says whether it does).
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")
    user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    locked_out = bool(getattr(request, "axes_locked_out", False))
    audit.record(
        audit.LOGIN_FAILED,
        request=request,
        user=user,
        attempted_username=username[:150],
        throttled=locked_out,
    )


def connect() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="provider_app_audit_logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="provider_app_audit_logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="provider_app_audit_login_failed")
