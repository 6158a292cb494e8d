"""OpenID Connect Back-Channel Logout 1.0, the provider's side (L1-L3).

- **sid** (L1): each provider session gets a random identifier, kept in the session (never the
  session key, which would let anyone who sees an ID token take the session over); the ID tokens
  issued through that session carry it (:func:`provider_app.internal.login.session_sid`,
  :func:`~provider_app.internal.login.id_token_claims`).
- **Who signed in where** (L3): each authorization code redeemed with an ID token records a
  :class:`~provider_app.models.SignedInClient` (sid, user, client), written with the token response
  (:func:`provider_app.internal.login.record_signed_in_client`, beside the authentication context).
- **Logout tokens** (L2, L3): when a session ends (:func:`session_ended`: any ``logout()``, the
  provider's and RP-initiated logout included) or every session of a user does
  (:func:`user_sessions_ended`: password changed, account deactivated, an administrator's action;
  for one client, :func:`client_access_ended`: consent removed on the connected-apps page), each of
  those clients that registered a ``backchannel_logout_uri`` gets a logout token through the outbox
  (:mod:`provider_app.internal.outbox`), in the transaction of the change.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import router, transaction
from django.db.models import QuerySet
from oauth2_provider.settings import oauth2_settings

from provider_app.app_settings import app_settings
from provider_app.internal import outbox
from provider_app.internal.clients import is_backchannel_logout_uri_allowed
from provider_app.internal.login import SID_KEY
from provider_app.models import ClientPolicy, OutboundDelivery, SignedInClient

logger = logging.getLogger("provider_app")

#: OIDC BCL 2.4: the member of ``events`` that makes a JWT a logout token.
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: User fields whose change ends every session of the user (Django's session hash, ModelBackend).
SESSION_ENDING_FIELDS = {"password", "is_active"}


# -- sessions that end (L3) -------------------------------------------------------------------------------


def session_ended(request) -> int:
    """The provider session of ``request`` ends: a logout token to each client it signed in to."""
    sid = request.session.get(SID_KEY) if hasattr(request, "session") else None
    if not isinstance(sid, str) or not sid:
        return 0
    return _end(SignedInClient.objects.filter(sid=sid))


def user_sessions_ended(user) -> int:
    """Every provider session of ``user`` ends (password changed, deactivated, an admin's action)."""
    return _end(SignedInClient.objects.filter(user=user))


def client_access_ended(user, application, request=None) -> int:
    """``application`` lost its access to ``user``'s account (consent removed): its sessions end.
    With no session on record, a client that does not require ``sid`` gets a logout token for the
    subject (OIDC BCL 2.4: ``sub`` alone ends every session of that user at the client)."""
    count = _end(SignedInClient.objects.filter(user=user, application=application))
    policy = ClientPolicy.objects.select_related("application").filter(application=application).first()
    if count or policy is None or not policy.backchannel_logout_uri:
        return count
    if policy.backchannel_logout_session_required or request is None:
        return 0
    with transaction.atomic(using=router.db_for_write(OutboundDelivery)):
        _send(policy, user.pk, sid=None, issuer=oauth2_settings.oidc_issuer(request))
    return 1


def on_logged_out(sender, request, user, **kwargs) -> None:
    """``user_logged_out`` receiver: runs before Django empties the session, so the sid is there."""
    if request is not None:
        session_ended(request)


def another_user_signs_in(request, user) -> int:
    """Before ``login()`` of ``user``: when the browser's session belongs to someone else, Django
    empties it without ``user_logged_out``, so that session ends here (its clients are told)."""
    current = getattr(request, "user", None)
    if current is None or not current.is_authenticated or current.pk == user.pk:
        return 0
    return session_ended(request)


def user_deleting(sender, instance, **kwargs) -> None:
    """``pre_delete`` of the user model: a deleted account's sessions end everywhere (its records
    of where it signed in would otherwise go with it, silently)."""
    user_sessions_ended(instance)


def user_will_change(sender, instance, update_fields=None, raw=False, **kwargs) -> None:
    """``pre_save`` of the user model: note whether this save ends the user's sessions."""
    if raw or instance.pk is None:
        return
    if update_fields is not None and not SESSION_ENDING_FIELDS & set(update_fields):
        return
    before = type(instance)._default_manager.filter(pk=instance.pk).values("password", "is_active").first()
    # Also read by provider_app.internal.revocation_events.user_changed (the services are told, E1).
    instance.provider_app_deactivated = before is not None and before["is_active"] and not instance.is_active
    instance.provider_app_sessions_end = before is not None and (
        before["password"] != instance.password or instance.provider_app_deactivated
    )


def user_changed(sender, instance, raw=False, **kwargs) -> None:
    """``post_save`` of the user model: a changed password or a deactivation ends every session."""
    if not raw and getattr(instance, "provider_app_sessions_end", False):
        instance.provider_app_sessions_end = False
        user_sessions_ended(instance)


# -- logout tokens through the outbox (L2) ---------------------------------------------------------------


def _end(signed_in: QuerySet[SignedInClient]) -> int:
    """A logout token per (session, client) with a back-channel logout URI; the records go."""
    with transaction.atomic(using=router.db_for_write(OutboundDelivery)):
        rows = list(
            signed_in.select_for_update()
            .order_by("pk")
            .values_list("pk", "sid", "issuer", "user_id", "application_id")
        )
        if not rows:
            return 0
        policies = {
            policy.application_id: policy
            for policy in ClientPolicy.objects.select_related("application")
            .filter(application_id__in={row[4] for row in rows})
            .exclude(backchannel_logout_uri="")
        }
        sent = set()
        for _pk, sid, issuer, user_id, application_id in rows:
            if application_id in policies and (sid, application_id) not in sent:
                sent.add((sid, application_id))
                _send(policies[application_id], user_id, sid=sid, issuer=issuer)
        SignedInClient.objects.filter(pk__in=[row[0] for row in rows]).delete()
    return len(sent)


def _send(policy: ClientPolicy, user_id, *, sid: str | None, issuer: str) -> None:
    if not is_backchannel_logout_uri_allowed(policy.backchannel_logout_uri):
        # Registered around the admin's check (code, a data migration): never posted to.
        logger.error("provider_app: %s has an unusable back-channel logout URI", policy.application)
        return
    outbox.enqueue(
        OutboundDelivery.BACKCHANNEL_LOGOUT,
        policy.backchannel_logout_uri,
        logout_claims(issuer, policy.application.client_id, str(user_id), sid),
        lifetime=timedelta(seconds=app_settings.BACKCHANNEL_LOGOUT_RETRY_SECONDS),
        application=policy.application,
    )


def logout_claims(issuer: str, client_id: str, sub: str, sid: str | None) -> dict:
    """OIDC BCL 2.4: iss, aud, jti, events, sub and sid (when known); never a nonce. ``iat`` and
    ``exp`` are added when it is signed (:func:`provider_app.internal.outbox.sign`)."""
    claims = {
        "iss": issuer,
        "aud": client_id,
        "jti": str(uuid.uuid4()),
        "events": {LOGOUT_EVENT: {}},
        "sub": sub,  # the ID token's sub (DOT: the user's primary key)
    }
    if sid:
        claims["sid"] = sid
    return claims
