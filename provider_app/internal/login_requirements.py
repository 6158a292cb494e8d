"""What an authorization request asks of the user's authentication (OIDC Core 3.1.2.1).

- ``prompt=login`` and ``max_age`` force a fresh login (P18). So that the user is not sent back to
  the login page forever (``max_age=0``), the URL the login page returns to carries a signed
  *fresh-login marker*: "a login was demanded at time T for this request"; the request is then
  satisfied by any authentication at or after T.
- ``acr_values`` naming the multi-factor class, ``PROVIDER_APP_REQUIRE_TWO_FACTOR``, a client's
  ``require_two_factor`` flag, and the user having a device demand a second factor: step-up, or
  enrolment for users without one."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest, QueryDict

from provider_app.app_settings import app_settings
from provider_app.internal.login import PASSWORD, SessionAuthentication
from provider_app.two_factor.devices import has_two_factor

# Keys in request.META (never reachable from HTTP headers, which all become HTTP_*) through which
# the authorization view tells the validator what only the session knows (prompt=none).
SILENT_LOGIN_META = "provider_app.silent_login"
SILENT_AUTHORIZATION_META = "provider_app.silent_authorization"

FRESH_LOGIN_PARAM = "provider_app_fresh_login"
FRESH_LOGIN_MAX_AGE = 15 * 60
_FRESH_LOGIN_SALT = "provider_app.two_factor.fresh_login"


@dataclass(frozen=True)
class FreshLoginMarker:
    """A login was demanded at ``time`` while the session's authentication was ``previous_event``."""

    time: float
    previous_event: str
    valid: bool = True

    def is_satisfied_by(self, authentication: SessionAuthentication) -> bool:
        """Only a new authentication event since the demand counts (an invalid marker: never)."""
        return (
            self.valid and authentication.time >= self.time and authentication.event_id != self.previous_event
        )


INVALID_MARKER = FreshLoginMarker(0.0, "", valid=False)


@dataclass(frozen=True)
class AuthenticationRequirement:
    """The authentication one authorization request needs before a code may be issued."""

    prompt: frozenset[str]
    max_age: int | None
    multi_factor: bool
    fresh_login_marker: FreshLoginMarker | None

    @property
    def silent(self) -> bool:
        return "none" in self.prompt

    def needs_login(self, authentication: SessionAuthentication | None, now: float | None = None) -> bool:
        """A fresh login is needed: no known authentication, prompt=login, older than max_age, or
        multi-factor demanded of a session that has no password step to build on."""
        if authentication is None:
            return True
        if self.multi_factor and PASSWORD not in authentication.methods:
            return True  # a second factor alone is not multi-factor: sign in with the password
        if self.fresh_login_marker is not None:
            return not self.fresh_login_marker.is_satisfied_by(authentication)
        if "login" in self.prompt:
            return True
        return self.max_age is not None and authentication.age(now) > self.max_age

    def needs_second_factor(self, authentication: SessionAuthentication | None) -> bool:
        return self.multi_factor and not (authentication is not None and authentication.is_multi_factor)

    def is_met_by(self, authentication: SessionAuthentication | None) -> bool:
        return not self.needs_login(authentication) and not self.needs_second_factor(authentication)


def _max_age(query: QueryDict) -> int | None:
    try:
        value = int(query.get("max_age", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def client_requires_two_factor(application) -> bool:
    if application is None:
        return False
    # No ClientPolicy row: the reverse accessor raises RelatedObjectDoesNotExist, an AttributeError.
    policy = getattr(application, "policy", None)
    return bool(getattr(policy, "require_two_factor", False))


def asks_for_multi_factor(query: QueryDict) -> bool:
    requested = set(query.get("acr_values", "").split())
    return bool(requested & {app_settings.ACR_MULTI_FACTOR, *app_settings.ACR_MULTI_FACTOR_ALIASES})


def requirement_for(request: HttpRequest, application) -> AuthenticationRequirement:
    query = request.GET
    multi_factor = (
        app_settings.REQUIRE_TWO_FACTOR
        or client_requires_two_factor(application)
        or asks_for_multi_factor(query)
        # A user who has a second factor uses it, however the session was opened.
        or has_two_factor(getattr(request, "user", None))
    )
    return AuthenticationRequirement(
        prompt=frozenset(query.get("prompt", "").split()),
        max_age=_max_age(query),
        multi_factor=bool(multi_factor),
        fresh_login_marker=_read_marker(query),
    )


# --- the fresh-login marker ------------------------------------------------------------------------


def _request_digest(query: QueryDict) -> str:
    """Binds a marker to one authorization request (its state, nonce, client, ...)."""
    items = sorted(
        (key, value)
        for key, values in query.lists()
        if key not in (FRESH_LOGIN_PARAM, "prompt")
        for value in values
    )
    return hashlib.sha256(urlencode(items).encode()).hexdigest()


def _read_marker(query: QueryDict) -> FreshLoginMarker | None:
    value = query.get(FRESH_LOGIN_PARAM)
    if value is None:
        return None
    try:
        marker = signing.loads(value, salt=_FRESH_LOGIN_SALT, max_age=FRESH_LOGIN_MAX_AGE)
    except signing.BadSignature:
        return INVALID_MARKER
    if not isinstance(marker, dict) or marker.get("r") != _request_digest(query):
        return INVALID_MARKER
    return FreshLoginMarker(float(marker.get("t", 0)), str(marker.get("p", "")))


def url_after_fresh_login(request: HttpRequest, current: SessionAuthentication | None = None) -> str:
    """This authorization URL without ``prompt=login``, with a new fresh-login marker."""
    query = request.GET.copy()
    prompt = [value for value in query.get("prompt", "").split() if value != "login"]
    if prompt:
        query["prompt"] = " ".join(prompt)
    else:
        query.pop("prompt", None)
    query.pop(FRESH_LOGIN_PARAM, None)
    previous = current.event_id if current is not None else ""
    marker = {"t": round(time.time(), 3), "r": _request_digest(query), "p": previous}
    query[FRESH_LOGIN_PARAM] = signing.dumps(marker, salt=_FRESH_LOGIN_SALT)
    return f"{request.path}?{query.urlencode()}"
