"""Revocation events to resource servers (E1): a Security Event Token for each revoked JWT.

A JWT access token (RFC 9068) is checked by the service that receives it without asking the
provider, so a token revoked here keeps working there until its ``exp`` unless the service is told.
Each :class:`~provider_app.models.ResourceServer` that registered an ``events_uri`` is pushed a
Security Event Token (RFC 8417, push delivery RFC 8935) through the outbox
(:mod:`provider_app.internal.outbox`), written in the transaction of the revocation (E4) and sent by
the worker, retried until the revoked token would have expired anyway (E5).

- **One revoked token** (:func:`access_token_deleted`): every revocation at the provider deletes the
  access token row (DOT's way: the RFC 7009 endpoint, ``revoke_access_token`` on logout and on the
  connected-apps page, family revocation after a refresh-token reuse or a code replay, what was
  exchanged from a revoked token, the admin's actions, a deleted client or user). A ``pre_delete``
  receiver therefore sees every one of them, whichever path deleted it: a JWT that has not expired
  yet gets a CAEP session-revoked event whose ``sub_id`` is ``jwt_id`` (its ``iss`` and ``jti``,
  kept in the row: :func:`provider_app.internal.storage.stored_jwt_id`).
- **Every token of a user** (:func:`user_deactivated`): a deactivated user's tokens are not deleted
  (P24: refused everywhere at the provider, kept for a reactivation), so each service that holds a
  live JWT of the user gets one event whose ``sub_id`` is ``iss_sub``: every token of that subject
  issued up to ``event_timestamp``.
- **Not a revocation**: a refresh-token rotation replaces the access token the client itself asked to
  replace (:func:`replacing`); an expired token needs no event.

Opaque tokens get no event: the service introspects them (RFC 7662), and a revoked one is inactive
at once; sending events for them would fill the outbox for nothing. Whether a token is a JWT is read
from its row (the ``jwt-id:`` marker), never from the service's current ``token_format``: a service
that switched from jwt to opaque is still told about the JWTs it was issued before.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.db import router, transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from provider_app.internal import batch, outbox
from provider_app.internal.clients import is_backchannel_logout_uri_allowed
from provider_app.internal.storage import JWT_ID_PREFIX, stored_jwt_id
from provider_app.models import OutboundDelivery, ResourceServer

logger = logging.getLogger("provider_app")

#: OpenID CAEP 1.0 3.1: "the session of the subject has been revoked".
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"

#: In a bulk revocation's memo (:mod:`provider_app.internal.batch`): audiences -> the services told.
_SERVERS = "revocation_events.servers"

_replacing: ContextVar[bool] = ContextVar("provider_app_replacing_tokens", default=False)


@contextmanager
def replacing() -> Iterator[None]:
    """Access tokens deleted inside are replaced at their client's request (a refresh-token rotation),
    not revoked: no event."""
    reset = _replacing.set(True)
    try:
        yield
    finally:
        _replacing.reset(reset)


def servers_changed(sender, **kwargs) -> None:
    """``post_save`` / ``post_delete`` of :class:`ResourceServer`: a bulk revocation under way
    (:func:`provider_app.internal.batch.revocation`) looks the services up again."""
    looked_up = batch.memo()
    if looked_up is not None:
        looked_up.pop(_SERVERS, None)


# -- triggers ---------------------------------------------------------------------------------------------


def access_token_deleted(sender, instance, **kwargs) -> None:
    """``pre_delete`` of the access token model: a live JWT's audience is told (``jwt_id``)."""
    jwt_id = stored_jwt_id(instance.token)
    if jwt_id is None or _replacing.get() or instance.expires <= timezone.now():
        return
    issuer, jti = jwt_id
    for server in _servers_told(instance.resource):
        _send(server, issuer, {"format": "jwt_id", "iss": issuer, "jti": jti}, until=instance.expires)


def user_deactivated(user) -> int:
    """Every live JWT of ``user`` dies at its services: one ``iss_sub`` event per service and issuer."""
    live = (
        get_access_token_model()
        .objects.filter(user=user, expires__gt=timezone.now(), token__startswith=JWT_ID_PREFIX)
        .values_list("token", "resource", "expires")
    )
    latest: dict[tuple[str, str], datetime] = {}  # (audience, issuer) -> the last expiry
    for token, resource, expires in live:
        jwt_id = stored_jwt_id(token)
        for audience in resource or () if jwt_id else ():
            key = (audience, jwt_id[0])
            latest[key] = max(expires, latest.get(key, expires))
    sent = 0
    with transaction.atomic(using=router.db_for_write(OutboundDelivery)), batch.revocation():
        for (audience, issuer), until in sorted(latest.items()):
            for server in _servers_told([audience]):
                _send(server, issuer, {"format": "iss_sub", "iss": issuer, "sub": str(user.pk)}, until=until)
                sent += 1
    return sent


def user_changed(sender, instance, raw=False, **kwargs) -> None:
    """``post_save`` of the user model: a deactivation (noted before the save,
    :func:`provider_app.internal.backchannel_logout.user_will_change`) is told to the services."""
    if not raw and getattr(instance, "provider_app_deactivated", False):
        instance.provider_app_deactivated = False
        user_deactivated(instance)


# -- the event ---------------------------------------------------------------------------------------------


def _servers_told(audiences) -> list[ResourceServer]:
    """The registered services among ``audiences`` that have an events URI. Whatever format they want
    now: the revoked token is a JWT (its row holds the ``jwt-id:`` marker), and a service that switched
    to opaque after it was issued still accepts it until its ``exp``."""
    key = tuple(sorted({a for a in (audiences or ()) if isinstance(a, str)}))
    if not key:
        return []
    looked_up = (batch.memo() or {}).get(_SERVERS)
    if looked_up is None:
        looked_up = {}
        if batch.memo() is not None:  # a bulk revocation: once per audience (E1 at scale)
            batch.memo()[_SERVERS] = looked_up
    if key not in looked_up:
        looked_up[key] = list(
            ResourceServer.objects.filter(identifier__in=key).exclude(events_uri="").select_related("client")
        )
    return looked_up[key]


def _send(server: ResourceServer, issuer: str, subject: dict, *, until: datetime) -> None:
    if not is_backchannel_logout_uri_allowed(server.events_uri):
        # Registered around the admin's check (code, a data migration): never posted to.
        logger.error("provider_app: %s has an unusable events URI", server)
        return
    outbox.enqueue(
        OutboundDelivery.SECURITY_EVENT,
        server.events_uri,
        event_claims(issuer, server.identifier, subject, timezone.now()),
        expires_at=until,  # E5: no delivery after the revoked token's own expiry (useless by then)
        application=server.client,
    )


def event_claims(issuer: str, audience: str, subject: dict, when: datetime) -> dict:
    """RFC 8417 2.2 / CAEP 1.0 3.1: ``iss``, ``aud``, ``jti``, ``sub_id`` (RFC 9493 4.1) and
    ``events``; ``iat`` and ``exp`` are added when it is signed (:func:`outbox.sign`)."""
    return {
        "iss": issuer,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "sub_id": subject,
        "events": {SESSION_REVOKED: {"event_timestamp": int(when.timestamp())}},
    }
