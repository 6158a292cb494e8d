"""Revocation events from the provider: Security Event Tokens (RFC 8417) pushed over HTTP (RFC 8935).

:func:`receive` validates a SET (E2) and writes what it revokes in the deny-list (E3). The one event
understood is CAEP's ``session-revoked`` (OpenID CAEP 1.0 3.1) about a subject given, as the Shared
Signals Framework 1.0 asks, in the SET's top-level ``sub_id`` (RFC 9493 4.1; the event's own
``subject`` member, which older CAEP transmitters send, is read too), in one of two formats:

- ``jwt_id`` (SSF 1.0: ``iss`` and ``jti`` of one JWT): that access token is refused;
- ``iss_sub`` (RFC 9493 3.2.2: ``iss`` and ``sub``): every token of that subject issued at or
  before the event's ``event_timestamp`` (else the SET's ``iat``) is refused.

The ``iss`` of the subject must be the provider's: a provider speaks only for its own tokens. Other
event types are acknowledged and ignored (RFC 8935 2.2 lets a receiver). docs/microservices.md has
the exact SET a provider sends.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from resource_app.app_settings import app_settings
from resource_app.exceptions import InvalidToken
from resource_app.internal import jwt_access_tokens
from resource_app.internal.deny_list import deny_list
from resource_app.models import ReceivedEvent, Revocation

logger = logging.getLogger("resource_app")

SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
# RFC 8417 2.3: a SET is explicitly typed, so that it is never taken for another kind of JWT.
SET_TYPES = {"secevent+jwt", "application/secevent+jwt"}
MAX_SET_LENGTH = 16 * 1024


class EventRefused(Exception):
    """The SET is refused: RFC 8935 2.3, answered 400 with ``err`` (an RFC 8935 2.4 code)."""

    def __init__(self, err: str, description: str) -> None:
        super().__init__(description)
        self.err, self.description = err, description


def receive(raw: str) -> int:
    """Act on one SET; returns how many deny-list entries it added (0 for a SET received before or
    an event this service does not act on). :class:`EventRefused` when it is refused; a provider
    or database that cannot be reached raises through (the view answers 503, the provider retries)."""
    claims = validate(raw)
    subject = _revocation_subject(claims)
    if subject is None:
        return 0  # RFC 8935 2.2: acknowledged, ignored
    now = timezone.now()
    expires = now + timedelta(seconds=app_settings.DENY_LIST_SECONDS)
    with transaction.atomic():
        _purge(now)
        try:
            with transaction.atomic():  # a savepoint: a duplicate leaves the outer transaction usable
                keep = timedelta(seconds=app_settings.EVENTS_MAX_AGE + 2 * app_settings.LEEWAY)
                ReceivedEvent.objects.create(jti=claims["jti"], expires_at=now + keep)
        except IntegrityError:
            return 0  # the provider retried a SET that arrived: nothing happens twice
        row = Revocation.objects.create(**subject, expires_at=expires)  # recorded_at: the database's clock
    # This worker refuses at once; its cursor moves only with what it reads from the database.
    deny_list.apply([(row.kind, row.value, row.revoked_before, None, row.expires_at)])
    logger.info("resource_app: revocation event %s received (%s)", claims["jti"], row.kind)
    return 1


def validate(raw: str) -> dict[str, Any]:
    """The SET's claims after every check of E2, or :class:`EventRefused`."""
    if not raw or len(raw) > MAX_SET_LENGTH:
        raise EventRefused("invalid_request", "The body is not a Security Event Token.")
    try:
        claims = jwt_access_tokens.verified_claims(
            raw, SET_TYPES, "The token is not typed secevent+jwt (RFC 8417 2.3)."
        )
    except jwt_access_tokens.KeyNotAccepted as error:
        raise EventRefused("invalid_key", error.description) from None
    except jwt_access_tokens.SignatureInvalid:
        # The signature is what authenticates the provider (RFC 8935 2.4, 5.1).
        raise EventRefused("authentication_failed", "The SET's signature is not valid.") from None
    except InvalidToken as error:
        raise EventRefused("invalid_request", error.description) from None
    _check_claims(claims)
    return claims


def _check_claims(claims: dict[str, Any]) -> None:
    now, leeway = time.time(), app_settings.LEEWAY
    if claims.get("iss") != app_settings.ISSUER:  # RFC 8417 2.2, E2: exactly the provider
        raise EventRefused("invalid_issuer", "The SET was issued by another issuer.")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or app_settings.AUDIENCE not in audiences:  # E2
        raise EventRefused("invalid_audience", "The SET is meant for another service.")
    iat = claims.get("iat")
    if not _number(iat) or iat - leeway > now or iat + app_settings.EVENTS_MAX_AGE + leeway < now:
        raise EventRefused("invalid_request", "The SET's iat is missing, in the future or too old.")
    exp = claims.get("exp")
    if exp is not None and (not _number(exp) or exp + leeway <= now):
        raise EventRefused("invalid_request", "The SET has expired.")
    if not _identifier(claims.get("jti")):  # RFC 8417 2.2: required; duplicates are found by it
        raise EventRefused("invalid_request", "The SET has no usable jti.")
    events = claims.get("events")
    if not isinstance(events, dict) or not events or not all(isinstance(e, dict) for e in events.values()):
        raise EventRefused("invalid_request", "The SET's events claim is not an object of events.")


def _revocation_subject(claims: dict[str, Any]) -> dict[str, Any] | None:
    """The deny-list row the SET asks for (``kind``, ``value``, ``revoked_before``), ``None`` when
    it holds no event this service acts on."""
    event = claims["events"].get(SESSION_REVOKED)
    if event is None:
        return None
    subject = claims.get("sub_id", event.get("subject"))
    if "sub_id" in claims and "subject" in event and event["subject"] != claims["sub_id"]:
        raise EventRefused("invalid_request", "sub_id and the event's subject differ.")
    if not isinstance(subject, dict):
        raise EventRefused("invalid_request", "The event names no subject (sub_id).")
    if subject.get("iss") != app_settings.ISSUER:  # the provider speaks for its own tokens only
        raise EventRefused("invalid_request", "The subject is not one of this issuer's.")
    fmt = subject.get("format")
    if fmt == "jwt_id" and _identifier(subject.get("jti")):
        return {"kind": Revocation.JTI, "value": subject["jti"], "revoked_before": None}
    if fmt == "iss_sub" and _identifier(subject.get("sub")):
        return {"kind": Revocation.SUBJECT, "value": subject["sub"], "revoked_before": _when(claims, event)}
    raise EventRefused("invalid_request", "The subject is neither a jwt_id nor an iss_sub identifier.")


def _when(claims: dict[str, Any], event: dict[str, Any]) -> float:
    """CAEP 2: ``event_timestamp``, when the session was revoked; the SET's ``iat`` without it."""
    when = event.get("event_timestamp", claims["iat"])
    if not _number(when) or when - app_settings.LEEWAY > time.time():
        raise EventRefused("invalid_request", "The event_timestamp is not a time in the past.")
    return float(when)


def _purge(now) -> None:
    """Entries past their time go on the way (one indexed DELETE per received event)."""
    Revocation.objects.filter(expires_at__lte=now).delete()
    ReceivedEvent.objects.filter(expires_at__lte=now).delete()


def _number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _identifier(value: Any) -> bool:
    """A string the database stores as it is: 1 to 255 characters, no NUL, no lone surrogate."""
    if not isinstance(value, str) or not 0 < len(value) <= 255 or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
