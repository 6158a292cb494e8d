"""The second-factor step's session state, and nothing secret.

- The pending second-factor step: only a signed, expiring marker with the user's id and the URL
  to continue to. No password and no half-finished login object is kept between the steps (P21).
- The time of the last re-authentication, for the self-service pages.

How and when the user authenticated (``amr``, ``acr``, ``auth_time``) belongs to login:
:mod:`provider_app.internal.login`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core import signing
from django.http import HttpRequest

from provider_app.app_settings import app_settings
from provider_app.internal.compat import deprecated_module
from provider_app.internal.login import session_authentication

PENDING_KEY = "provider_app.second_factor"
REAUTHENTICATED_KEY = "provider_app.reauthenticated_at"
_PENDING_SALT = "provider_app.two_factor.pending_login"


# --- the step between password and second factor -------------------------------------------------


@dataclass(frozen=True)
class PendingLogin:
    """A password step that succeeded for ``user_id``; the second factor is still missing."""

    user_id: str
    backend: str
    next_url: str


def begin_second_factor(request: HttpRequest, user, next_url: str) -> None:
    """Store the signed marker (user id, backend, where to go next; timestamped by the signer)."""
    marker = {"uid": str(user.pk), "backend": getattr(user, "backend", ""), "next": next_url}
    request.session[PENDING_KEY] = signing.dumps(marker, salt=_PENDING_SALT)


def pending_login(request: HttpRequest) -> PendingLogin | None:
    """The pending step if it exists and is younger than ``TWO_FACTOR_LOGIN_TIMEOUT``; else None."""
    value = request.session.get(PENDING_KEY)
    if not value:
        return None
    try:
        marker = signing.loads(value, salt=_PENDING_SALT, max_age=app_settings.TWO_FACTOR_LOGIN_TIMEOUT)
    except signing.BadSignature:  # includes SignatureExpired
        request.session.pop(PENDING_KEY, None)
        return None
    return PendingLogin(str(marker["uid"]), str(marker.get("backend", "")), str(marker.get("next", "")))


def end_second_factor(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)


# --- recent authentication for the self-service pages ---------------------------------------------


def mark_reauthenticated(request: HttpRequest) -> None:
    request.session[REAUTHENTICATED_KEY] = round(time.time(), 3)


def is_recently_authenticated(request: HttpRequest) -> bool:
    """True if the user signed in or re-entered a password or code within the recent window."""
    window = app_settings.TWO_FACTOR_RECENT_AUTHENTICATION
    authentication = session_authentication(request)
    times = [authentication.time] if authentication else []
    reauthenticated = request.session.get(REAUTHENTICATED_KEY)
    if isinstance(reauthenticated, (int, float)):
        times.append(reauthenticated)
    return bool(times) and time.time() - max(times) <= window


#: Moved to provider_app.internal.login: how the user authenticated belongs to login, not two-factor.
__getattr__ = deprecated_module(
    __name__,
    {
        name: "provider_app.internal.login"
        for name in (
            "AUTHENTICATION_KEY",
            "MULTI_FACTOR",
            "ONE_TIME_PASSWORD",
            "PASSWORD",
            "SessionAuthentication",
            "add_method",
            "methods_for_backend",
            "on_user_logged_in",
            "record_authentication",
        )
    },
)
