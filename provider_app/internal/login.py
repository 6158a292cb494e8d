"""How the user authenticated: recorded at login, kept with each authorization code, put in the ID token.

This belongs to login, not to two-factor: a password-only login gets ``amr`` and ``auth_time`` too.

What the browser session knows about how the user authenticated, and nothing secret.

:class:`SessionAuthentication`: how and when the user of this session last actively authenticated
(RFC 8176 methods, a Unix time); the ID token's ``auth_time``/``amr``/``acr`` come from it (P19).
Every login records it (``user_logged_in``), a password-only login too.

``auth_time``, ``amr`` and ``acr`` in the ID token (OIDC Core 2, RFC 8176; P19).

The authorization endpoint knows the browser session; the token endpoint does not. So when a code
is issued, :func:`remember_for_code` stores how the user authenticated (an
:class:`~provider_app.two_factor.models.AuthenticationContext` keyed by the code's SHA-256); the
validator finds it again with :func:`context_for_token_request` and puts it in the ID token and in
JWT access tokens; the code's exchange links it to the sign-in's refresh-token family
(:func:`keep_with_tokens`), where every refresh finds it (R2).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from provider_app.app_settings import app_settings
from provider_app.internal.storage import PREFETCHED_CONTEXT, state_of
from provider_app.internal.tokens import digest
from provider_app.models import AuthenticationContext, SignedInClient

# --------------------------------------------------------------------------------------------------
# What the browser session knows about how the user authenticated, and nothing secret.
# --------------------------------------------------------------------------------------------------

AUTHENTICATION_KEY = "provider_app.authentication"
#: The provider session's ``sid`` (OIDC Back-Channel Logout 2.1; provider_app.internal.backchannel_logout).
SID_KEY = "provider_app.sid"

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


def session_sid(request: HttpRequest) -> str:
    """The sid of the request's provider session, created on first use: 256 random bits, never the
    session key (OIDC BCL 2.1, 3: ID tokens carry it). ``login()`` of the same user keeps it;
    ``logout()`` and another user's login empty the session, and with it the sid."""
    sid = request.session.get(SID_KEY)
    if not isinstance(sid, str) or not sid:
        sid = request.session[SID_KEY] = secrets.token_urlsafe(32)
    return sid


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


# --------------------------------------------------------------------------------------------------
# ``auth_time``, ``amr`` and ``acr`` in the ID token (OIDC Core 2, RFC 8176; P19).
# --------------------------------------------------------------------------------------------------

SUPPORTED_CLAIMS = ["auth_time", "amr", "acr", "sid"]
# Contexts of codes never redeemed are removed after this long (codes live 60 s, P6).
UNREDEEMED_LIFETIME = timedelta(hours=1)


def remember_for_code(request: HttpRequest, code: str) -> AuthenticationContext:
    """Store the session's authentication for the authorization ``code`` just issued."""
    user = request.user
    authentication = session_authentication(request)
    if authentication is not None:
        auth_time = datetime.fromtimestamp(authentication.time, tz=UTC)
        amr, acr = authentication.amr, (authentication.acr if authentication.methods else "")
    else:  # not reachable through AuthorizationView, which demands a known authentication first
        auth_time, amr, acr = timezone.now(), [], ""
    # Contexts of codes never redeemed (a redeemed code's context has a refresh-token family or an
    # ID token; clear_expired_tokens removes those once both are gone).
    AuthenticationContext.objects.filter(
        user=user,
        id_token__isnull=True,
        token_family__isnull=True,
        created__lt=timezone.now() - UNREDEEMED_LIFETIME,
    ).delete()
    return AuthenticationContext.objects.create(
        user=user, code_digest=digest(code), auth_time=auth_time, amr=amr, acr=acr, sid=session_sid(request)
    )


def context_of(request) -> AuthenticationContext | None:
    """:func:`context_for_token_request`, looked up once per token request (the ID token and a JWT
    access token of one response both need it)."""
    state = state_of(request)
    if not state.authentication_context_read:
        state.authentication_context = context_for_token_request(request)
        state.authentication_context_read = True
    return state.authentication_context


def context_for_token_request(request) -> AuthenticationContext | None:
    """The context behind an oauthlib token request: by its code, or, for a refresh, by the sign-in's
    refresh-token family (R2: with or without ``openid``), else through the refreshed ID token (a
    context written before it was linked to the family)."""
    if getattr(request, "grant_type", None) == "authorization_code" and getattr(request, "code", None):
        grant = state_of(request).grant
        if grant is not None and hasattr(grant, PREFETCHED_CONTEXT) and grant.user_id == request.user.pk:
            return getattr(grant, PREFETCHED_CONTEXT)  # loaded with the grant (internal.storage)
        return (
            AuthenticationContext.objects.filter(code_digest=digest(request.code), user=request.user)
            .order_by("-pk")
            .first()
        )
    # DOT's attribute, never oauthlib's parameter lookup (a client may post any field name, P26).
    refresh_token = request.__dict__.get("refresh_token_instance")
    if getattr(request, "grant_type", None) != "refresh_token" or not isinstance(
        refresh_token, get_refresh_token_model()
    ):
        return None
    return context_of_access_token(getattr(refresh_token, "access_token", None), refresh_token.token_family)


def context_of_access_token(access_token, token_family) -> AuthenticationContext | None:
    """The context behind a stored access token of the refresh-token family ``token_family`` (if
    any): by the family, or by the token's ID token (one query)."""
    condition = Q(token_family=token_family) if token_family else Q()
    id_token_id = getattr(access_token, "id_token_id", None) if access_token is not None else None
    if id_token_id is not None:
        condition |= Q(id_token_id=id_token_id)
    if not condition:
        return None
    # One context per sign-in: found by its family, or (written before contexts were linked to
    # families) by its ID token, which this response's tokens link to the family.
    return AuthenticationContext.objects.filter(condition).first()


def authentication_claims(context: AuthenticationContext | None) -> dict[str, Any]:
    """How the user authenticated: ``auth_time`` always, ``amr``/``acr`` when known. What RFC 9068
    2.2.1 lets a JWT access token carry (and an exchanged one, along a chain)."""
    if context is None:
        return {}
    claims: dict[str, Any] = {"auth_time": int(context.auth_time.timestamp())}
    if context.amr:
        claims["amr"] = list(context.amr)
    if context.acr:
        claims["acr"] = context.acr
    return claims


def id_token_claims(context: AuthenticationContext | None) -> dict[str, Any]:
    """The claims a context contributes to an ID token: :func:`authentication_claims` and ``sid``
    (the provider session, OIDC Back-Channel Logout 2.1, L1). ``sid`` goes to the client only: an
    access token never carries it, so no resource server learns the session handle."""
    claims = authentication_claims(context)
    if context is not None and context.sid:
        claims["sid"] = context.sid
    return claims


def keep_with_tokens(
    context: AuthenticationContext | None, batch, *, id_token=None, token_family=None
) -> None:
    """The context now belongs to the tokens of this response: its refresh-token family (which every
    rotation keeps, R2) and its ID token (OIDC Core 12.2); a redeemed code's digest is forgotten.
    One row update, written with the token response's rows (``batch``)."""
    if context is None:
        return
    values: dict[str, Any] = {}
    if id_token is not None:
        values["id_token_id"] = id_token
    if token_family is not None and context.token_family != token_family:
        values["token_family"] = token_family
    if context.code_digest is not None:
        values["code_digest"] = None
    if values:
        batch.update(AuthenticationContext, context.pk, **values)


def attach_to_id_token(context: AuthenticationContext | None, id_token, batch=None) -> None:
    """Kept for the deprecated path ``provider_app.two_factor.claims``: :func:`keep_with_tokens` for
    an ID token alone (without ``batch``, written at once). provider_app itself no longer calls it."""
    if batch is not None:
        keep_with_tokens(context, batch, id_token=id_token)
    elif context is not None:
        AuthenticationContext.objects.filter(pk=context.pk).update(id_token=id_token, code_digest=None)


def record_signed_in_client(context: AuthenticationContext | None, request, batch) -> None:
    """An ID token for an authorization code was issued through the provider session
    ``context.sid``: its client is signed in there, told by a logout token when the session ends
    (OIDC BCL 2.5, :mod:`provider_app.internal.backchannel_logout`). Written with the token
    response's rows; refreshes add nothing (the same session and client)."""
    if context is None or not context.sid or not context.code_digest or request.client is None:
        return
    batch.insert(
        SignedInClient(
            sid=context.sid,
            issuer=oauth2_settings.oidc_issuer(request),
            user_id=context.user_id,
            application=request.client,
        )
    )
