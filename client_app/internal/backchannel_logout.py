"""OpenID Connect Back-Channel Logout 1.0, the RP's side: a provider posts a logout token when a
session there ends; every local session that the provider session signed in to ends too.

:func:`validate` holds every rule of section 2.6 (L4), :func:`end_sessions` section 2.7 (L5),
:func:`record_session` keeps, at each login, which local session belongs to which provider
session (``sid``) and subject.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from client_app.app_settings import app_settings
from client_app.exceptions import ClientAppError, InvalidIdToken
from client_app.internal import id_token, metadata
from client_app.models import Provider, ProviderSession, SeenLogoutToken, SocialAccount, TokenSet, hash_value
from client_app.signals import logged_out_by_provider

logger = logging.getLogger("client_app")

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: OIDC BCL 2.4: logout tokens are explicitly typed (RFC 8725 3.11), so never taken for ID tokens.
LOGOUT_TYPES = ("logout+jwt", "application/logout+jwt")
MAX_TOKEN_LENGTH = 16 * 1024


class InvalidLogoutToken(ClientAppError):
    """The logout token is refused (OIDC BCL 2.8: answered 400 with ``invalid_request``)."""


def _refuse(description: str) -> InvalidLogoutToken:
    return InvalidLogoutToken(description, code="invalid_request")


@sensitive_variables("raw")
def receive(slug: str, raw: Any) -> int:
    """Act on a logout token posted for the provider ``slug``; returns how many sessions ended (0
    also when the token was received before). :class:`InvalidLogoutToken` when it is refused."""
    provider = Provider.objects.filter(slug=slug, enabled=True).first()
    if provider is None:
        raise _refuse("Unknown provider.")
    try:
        claims = validate(provider, raw)
    except (ValueError, TypeError, KeyError, RecursionError, UnicodeError):  # no input is a 500 (L6)
        raise _refuse("The logout token is malformed.") from None
    with transaction.atomic():
        if not first_receipt(provider, claims):
            return 0
        ended = end_sessions(provider, claims)
    logger.info("client_app: back-channel logout from %s ended %d session(s)", provider.slug, ended)
    logged_out_by_provider.send(
        sender=Provider, provider=provider, sub=claims.get("sub"), sid=claims.get("sid"), sessions_ended=ended
    )
    return ended


@sensitive_variables("raw")
def validate(provider: Provider, raw: Any) -> dict[str, Any]:
    """The logout token's claims after every check of OIDC BCL 2.6, or :class:`InvalidLogoutToken`."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise _refuse("A logout_token is required.")
    if raw.count(".") != 2:  # step 1: a JWS in compact form (no JWE, no unsecured JWT)
        raise _refuse("The logout token is not a signed JWT.")
    try:
        header = id_token.header(raw)
    except InvalidIdToken:
        raise _refuse("The logout token is malformed.") from None
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in LOGOUT_TYPES:  # media types: case-insensitive
        raise _refuse("The logout token is not typed logout+jwt.")
    jwks_uri = metadata.get_metadata(provider).require("jwks_uri")
    try:  # step 2: the ID token's rules: the provider's keys, its asymmetric algorithm allow-list
        claims = id_token.verify_signature(
            raw,
            allowed=provider.allowed_algorithms,
            get_jwks=lambda refresh: metadata.get_jwks(jwks_uri, refresh=refresh),
        )
    except InvalidIdToken as error:
        raise _refuse(f"The logout token's signature is not accepted ({error.code}).") from None
    _check_claims(provider, claims)
    return claims


def _check_claims(provider: Provider, claims: dict[str, Any], now: float | None = None) -> None:
    now = time.time() if now is None else now
    leeway = app_settings.CLOCK_SKEW_SECONDS
    if claims.get("iss") != provider.issuer:  # step 3
        raise _refuse("The logout token was issued by another issuer.")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or provider.client_id not in audiences:
        raise _refuse("The logout token is meant for another client.")
    iat, exp = claims.get("iat"), claims.get("exp")
    max_age = app_settings.LOGOUT_TOKEN_MAX_AGE_SECONDS
    if not _number(iat) or iat - leeway > now or iat + max_age + leeway < now:
        raise _refuse("The logout token is not fresh.")
    if not _number(exp) or exp + leeway < now:  # BCL 1.0 (errata set 1) 2.4: exp is required
        raise _refuse("The logout token has expired or has no exp.")
    sub, sid = claims.get("sub"), claims.get("sid")
    if sub is None and sid is None:  # step 4
        raise _refuse("The logout token names neither a subject nor a session.")
    if any(value is not None and not _identifier(value) for value in (sub, sid)):
        raise _refuse("The logout token's sub or sid is malformed.")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):  # step 5
        raise _refuse("The logout token carries no back-channel logout event.")
    if "nonce" in claims:  # step 6: never an ID token presented as a logout token
        raise _refuse("A logout token has no nonce.")
    if not _identifier(claims.get("jti")):  # step 7 needs it
        raise _refuse("The logout token has no jti.")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _identifier(value: Any) -> bool:
    """A string the database stores as it is: 1 to 255 characters, no NUL, no lone surrogate."""
    if not isinstance(value, str) or not 0 < len(value) <= 255 or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def first_receipt(provider: Provider, claims: dict[str, Any]) -> bool:
    """Record the token's ``jti``; ``False`` when it was received before (step 7: a logout token
    acts once; a provider retrying one it already delivered gets the same answer, and nothing
    happens twice). Records older than any fresh token are removed on the way."""
    now = timezone.now()
    keep = timedelta(seconds=app_settings.LOGOUT_TOKEN_MAX_AGE_SECONDS + 2 * app_settings.CLOCK_SKEW_SECONDS)
    SeenLogoutToken.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on after a duplicate
            SeenLogoutToken.objects.create(provider=provider, jti=claims["jti"], expires_at=now + keep)
    except IntegrityError:
        return False
    return True


def end_sessions(provider: Provider, claims: dict[str, Any]) -> int:
    """OIDC BCL 2.7: end every local session of that provider session (``sid``), or, with ``sub``
    only, every session of that subject; forget the tokens stored for those users. Returns how
    many sessions ended."""
    sessions = ProviderSession.objects.filter(provider=provider)
    if claims.get("sid") is not None:
        sessions = sessions.filter(sid=claims["sid"])
    if claims.get("sub") is not None:
        sessions = sessions.filter(sub=claims["sub"])
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended, users = 0, set()
    for session in sessions.select_for_update():
        try:
            store(session_key=session.session_key).delete()
            ended += 1
        except ImproperlyConfigured:  # encrypted with a key that is gone: that session cannot be found
            logger.warning(
                "client_app: a session of %s could not be ended (its key is unreadable)", provider.slug
            )
        users.add(session.user_id)
        session.delete()
    if claims.get("sub") is not None:
        users.update(
            SocialAccount.objects.filter(issuer=provider.issuer, sub=claims["sub"]).values_list(
                "user_id", flat=True
            )
        )
    # The tokens are the user's at that provider, shared by their sessions there: all go.
    TokenSet.objects.filter(provider=provider, user_id__in=users).delete()
    return ended


#: In the session: the hash of the key its ProviderSession rows were recorded under.
SESSION_MARKER = "client_app_provider_session"


def record_session(request, provider: Provider, sub: str, sid: Any) -> None:
    """After a login: this browser session belongs to the provider session ``sid`` of ``sub``."""
    if not provider.is_openid:  # back-channel logout is OpenID Connect's
        return
    key = request.session.session_key
    if not key:
        request.session.save()
        key = request.session.session_key
    request.session[SESSION_MARKER] = hash_value(key)
    ProviderSession.objects.create(
        provider=provider,
        user=request.user,
        sub=sub,
        sid=sid if _identifier(sid) else "",
        session_key=key,
        session_key_hash=hash_value(key),
    )


def session_key_changed(old_key: str | None, new_key: str | None, *, same_user: bool) -> None:
    """A login changed the session key: the same user's session keeps its provider sessions under
    the new key; another user's are forgotten (``login()`` emptied that session)."""
    if not old_key:
        return
    if not same_user or not new_key:
        ProviderSession.objects.filter(session_key_hash=hash_value(old_key)).delete()
        return
    _rekey(hash_value(old_key), new_key)


def follow_key_change(request) -> None:
    """:class:`~client_app.middleware.ProviderSessionMiddleware`: a session whose key changed since
    its login here (a password change, ``cycle_key()``) keeps its provider sessions, so that a
    back-channel logout still finds it. Costs one hash per request, a query only after a change."""
    session = getattr(request, "session", None)
    recorded = session.get(SESSION_MARKER) if session is not None else None
    key = session.session_key if session is not None else None
    if not recorded or not key or hash_value(key) == recorded:
        return
    _rekey(recorded, key)
    session[SESSION_MARKER] = hash_value(key)


def _rekey(old_hash: str, new_key: str) -> None:
    for row in ProviderSession.objects.filter(session_key_hash=old_hash):
        row.session_key, row.session_key_hash = new_key, hash_value(new_key)
        row.save(update_fields=["session_key", "session_key_hash"])


def forget_session(session_key: str | None) -> None:
    """A session that ended here (local logout) needs no back-channel logout any more."""
    if session_key:
        ProviderSession.objects.filter(session_key_hash=hash_value(session_key)).delete()
