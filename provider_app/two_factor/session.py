"""What the browser session knows about authentication, and nothing secret.

- :class:`SessionAuthentication`: how and when the user of this session last actively authenticated
  (RFC 8176 methods, a Unix time); the ID token's ``auth_time``/``amr``/``acr`` come from it (P19).
- The pending second-factor step: only a signed, expiring marker with the user's id and the URL
  to continue to. No password and no half-finished login object is kept between the steps (P21).
- The time of the last re-authentication, for the self-service pages.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.core import signing
from django.http import HttpRequest
from django.utils.module_loading import import_string

from provider_app.app_settings import app_settings

AUTHENTICATION_KEY = "provider_app.authentication"
PENDING_KEY = "provider_app.second_factor"
REAUTHENTICATED_KEY = "provider_app.reauthenticated_at"
_PENDING_SALT = "provider_app.two_factor.pending_login"

PASSWORD = "pwd"  # RFC 8176 2
ONE_TIME_PASSWORD = "otp"  # RFC 8176 2 (RFC 6238 TOTP; recovery codes are one-time codes too)
MULTI_FACTOR = "mfa"  # RFC 8176 2: more than one factor was used


@dataclass(frozen=True)
class SessionAuthentication:
    """How the user of this session authenticated: methods and Unix time of the latest active step."""

    user_id: str
    time: float
    methods: tuple[str, ...]
    # Random per authentication event: tells a new login from an old one even within one clock tick.
    event_id: str = ""

    @property
    def is_multi_factor(self) -> bool:
        return PASSWORD in self.methods and ONE_TIME_PASSWORD in self.methods

    @property
    def amr(self) -> list[str]:
        """RFC 8176 values, ``mfa`` added when two factors were used."""
        return [*self.methods, MULTI_FACTOR] if self.is_multi_factor else list(self.methods)

    @property
    def acr(self) -> str:
        return app_settings.ACR_MULTI_FACTOR if self.is_multi_factor else app_settings.ACR_SINGLE_FACTOR

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.time


def record_authentication(request: HttpRequest, user, methods: list[str] | tuple[str, ...]) -> None:
    """Remember in the session that ``user`` has just authenticated with ``methods``."""
    request.session[AUTHENTICATION_KEY] = {
        "uid": str(user.pk),
        "time": round(time.time(), 3),
        "methods": tuple(dict.fromkeys(methods)),
        "id": secrets.token_hex(8),
    }


def add_method(request: HttpRequest, user, method: str) -> None:
    """A further factor verified now (step-up): the methods grow and the time is now."""
    current = session_authentication(request, user)
    methods = current.methods if current else ()
    record_authentication(request, user, (*methods, method))


def session_authentication(request: HttpRequest, user=None) -> SessionAuthentication | None:
    """The session's authentication for ``user`` (default ``request.user``), or None if unknown."""
    user = user if user is not None else getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    stored = request.session.get(AUTHENTICATION_KEY)
    if not isinstance(stored, dict) or stored.get("uid") != str(user.pk):
        return None
    try:
        return SessionAuthentication(
            str(stored["uid"]), float(stored["time"]), tuple(stored["methods"]), str(stored.get("id", ""))
        )
    except (KeyError, TypeError, ValueError):
        return None


def methods_for_backend(backend_path: str | None) -> tuple[str, ...]:
    """What a login through ``backend_path`` proves: a password for ModelBackend and its subclasses."""
    if not backend_path:
        return ()
    try:
        backend_class = import_string(backend_path)
    except ImportError:
        return ()
    return (PASSWORD,) if issubclass(backend_class, ModelBackend) else ()


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: every login (ours, the admin's, others) records its time and method."""
    if request is None or not hasattr(request, "session"):
        return
    backend = getattr(user, "backend", None) or request.session.get(BACKEND_SESSION_KEY)
    record_authentication(request, user, methods_for_backend(backend))


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
