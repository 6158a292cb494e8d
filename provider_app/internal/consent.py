"""What a user approved, and the clients that hold access to the user's account.

Remembering what a user approved, per user, client and scope set.

The clients that hold access to a user's account, and revoking one (tokens and consent).

A client is "connected" while the user has a remembered consent for it or it holds a live access
or refresh token for the user. Revoking deletes the consent, revokes every refresh token (and with
it the bound access token), every remaining access token, the ID tokens and any authorization code
not yet redeemed, so the client must ask the user again (RFC 7009 2.1 semantics, from the user's side).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import router, transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_refresh_token_model,
)
from oauth2_provider.scopes import get_scopes_backend

from provider_app.internal.backchannel_logout import client_access_ended
from provider_app.internal.tokens import revoke_client_tokens
from provider_app.models import ClientUsage, Consent, normalise_scopes

# --------------------------------------------------------------------------------------------------
# Remembering what a user approved, per user, client and scope set.
# --------------------------------------------------------------------------------------------------


def has_consent(user, application, scopes: list[str]) -> bool:
    if application.skip_authorization:  # a first-party client: no consent page
        return True
    consent = Consent.objects.filter(user=user, application=application).only("scope").first()
    return consent is not None and consent.covers(scopes)


def remember_consent(user, application, scopes: list[str]) -> Consent:
    consent, created = Consent.objects.get_or_create(
        user=user, application=application, defaults={"scope": normalise_scopes(scopes)}
    )
    if not created and not consent.covers(scopes):
        consent.scope = normalise_scopes(consent.scope.split() + list(scopes))
        consent.save(update_fields=["scope", "updated"])
    return consent


# --------------------------------------------------------------------------------------------------
# The clients that hold access to a user's account, and revoking one (tokens and consent).
# --------------------------------------------------------------------------------------------------


@dataclass
class ConnectedApp:
    """One client as the connected-apps page shows it."""

    application: object
    scopes: set[str] = field(default_factory=set)
    since: datetime | None = None
    last_active: datetime | None = None
    last_used: datetime | None = None

    def see(self, when: datetime | None, *, last: datetime | None = None) -> None:
        if when is not None and (self.since is None or when < self.since):
            self.since = when
        last = last or when
        if last is not None and (self.last_active is None or last > self.last_active):
            self.last_active = last

    @property
    def scope_descriptions(self) -> list[tuple[str, str]]:
        described = get_scopes_backend().get_all_scopes()
        return [(scope, described.get(scope, scope)) for scope in sorted(self.scopes)]


def connected_apps(user) -> list[ConnectedApp]:
    """Every client with a consent or a live token for ``user``, most recently active first."""
    found: dict[int, ConnectedApp] = {}

    def entry(application) -> ConnectedApp:
        return found.setdefault(application.pk, ConnectedApp(application))

    for consent in Consent.objects.filter(user=user).select_related("application"):
        app = entry(consent.application)
        app.scopes.update(consent.scope.split())
        app.see(consent.created, last=consent.updated)
    live_access = get_access_token_model().objects.filter(user=user, expires__gt=timezone.now())
    for token in live_access.select_related("application"):
        app = entry(token.application)
        app.scopes.update(token.scope.split())
        app.see(token.created)
    live_refresh = get_refresh_token_model().objects.filter(user=user, revoked__isnull=True)
    for token in live_refresh.select_related("application"):
        entry(token.application).see(token.created, last=token.updated)
    usage = ClientUsage.objects.filter(user=user, application_id__in=list(found))
    for application_id, last_used in usage.values_list("application_id", "last_used"):
        found[application_id].last_used = last_used
        found[application_id].see(None, last=last_used)
    now = timezone.now()
    return sorted(found.values(), key=lambda app: app.last_active or app.since or now, reverse=True)


def find_connected_app(user, application_pk) -> object | None:
    """The application with this pk if it is connected to ``user`` (a user revokes only their own)."""
    for app in connected_apps(user):
        if str(app.application.pk) == str(application_pk):
            return app.application
    return None


def revoke_connected_app(user, application, request=None) -> int:
    """Take back everything ``application`` holds for ``user`` and forget the consent; the client's
    sessions for the user end (a logout token, written with the change: L3, E4). Returns the access
    tokens revoked."""
    with transaction.atomic(using=router.db_for_write(get_access_token_model())):
        revoked = revoke_client_tokens(user, application)
        Consent.objects.filter(user=user, application=application).delete()
        ClientUsage.objects.filter(user=user, application=application).delete()
        client_access_ended(user, application, request)
    return revoked
