"""Storing, refreshing and revoking a user's tokens (C8, C10).

Refresh is serialised per token set by a claim, a compare-and-swap on the row: in a short
transaction that holds the row's write lock (an UPDATE: a row lock on PostgreSQL, the database lock
on SQLite, where ``select_for_update`` does nothing), one request checks that nobody refreshed the
set since it read it and that no unexpired claim exists, and writes its own claim. Only that request
calls the provider; others wait for the new tokens (or for the claim to lapse). The new tokens are
stored only while the claim still holds. So a rotated refresh token is never sent twice and the
provider's reuse detection (RFC 9700 4.14.2) never revokes the family because of this site, and no
database lock is held during the HTTP call (a provider sharing the database, as in the demo on
SQLite, can still write).
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.debug import sensitive_variables

from client_app.app_settings import app_settings
from client_app.exceptions import InvalidIdToken, ProviderError, ReauthenticationRequired
from client_app.internal import id_token, metadata, tokens
from client_app.internal.tokens import TokenResponse
from client_app.models import Provider, ResourceToken, TokenSet
from client_app.signals import tokens_refreshed

logger = logging.getLogger("client_app")


def _expires_at(token_response: TokenResponse):
    if token_response.expires_in is None:
        return None
    return timezone.now() + timedelta(seconds=max(token_response.expires_in, 0))


@sensitive_variables()
def save(user, provider: Provider, token_response: TokenResponse) -> TokenSet:
    """Store the tokens of a fresh login, replacing any earlier set of this user and provider."""
    values = {
        "access_token": token_response.access_token,
        "refresh_token": token_response.refresh_token,
        "id_token": token_response.id_token,
        "token_type": token_response.token_type,
        "scope": token_response.scope or provider.scopes,
        "expires_at": _expires_at(token_response),
        # A refresh still running for the old tokens must not overwrite these (its claim is void).
        "refresh_claim": "",
        "refresh_claimed_until": None,
    }
    token_set, _ = TokenSet.objects.update_or_create(
        user=user,
        provider=provider,
        defaults={**values, "version": F("version") + 1},
        create_defaults=values,
    )
    token_set.refresh_from_db()
    ResourceToken.objects.filter(token_set=token_set).delete()  # tokens of the previous grant
    return token_set


def stored_token_set(user, provider: Provider) -> TokenSet:
    """The user's token set as stored (:class:`ReauthenticationRequired` if there is none)."""
    token_set = TokenSet.objects.filter(user=user, provider=provider).first()
    if token_set is None or not token_set.access_token:
        raise ReauthenticationRequired(
            f"There is no stored sign-in with {provider} for this user.", code="no_tokens"
        )
    return token_set


def get_token_set(user, provider: Provider) -> TokenSet:
    """The user's token set with an access token that is not about to expire, refreshed if needed."""
    token_set = stored_token_set(user, provider)
    if token_set.expires_within(app_settings.TOKEN_REFRESH_MARGIN_SECONDS):
        token_set = refresh(token_set)
    return token_set


def get_resource_token(token_set: TokenSet, resource: str) -> ResourceToken:
    """An access token of ``token_set`` for ``resource`` (RFC 8707): the kept one, else one obtained
    by a refresh with ``resource`` (RFC 8707 2.2), under the same claim as any refresh (C10)."""
    kept = _kept(token_set, resource)
    return kept if kept is not None else refresh(token_set, resource=resource)


def _kept(token_set: TokenSet, resource: str) -> ResourceToken | None:
    """The resource token obtained at the set's current version (as stored, whatever ``token_set``
    says), unless about to expire: a later refresh of the set rotated the refresh token, and the
    provider may revoke the previous pair."""
    kept = ResourceToken.objects.filter(
        token_set_id=token_set.pk, resource=resource, token_set_version=F("token_set__version")
    ).first()
    if kept is None or kept.expires_within(app_settings.TOKEN_REFRESH_MARGIN_SECONDS):
        return None
    return kept


def forget_rejected_resource_token(token_set: TokenSet, resource: str, rejected: str) -> None:
    """The service refused ``rejected`` as no longer valid (RFC 6750 3.1 ``invalid_token``: revoked
    before its expiry): never send it again; the next call obtains a new one (:func:`refresh`)."""
    for kept in ResourceToken.objects.filter(token_set_id=token_set.pk, resource=resource):
        if constant_time_compare(kept.access_token, rejected):
            ResourceToken.objects.filter(pk=kept.pk, token_set_version=kept.token_set_version).delete()


#: Provider calls one refresh may make: discovery, the token endpoint, the JWKS (C14).
REFRESH_CALLS = 3


def claim_seconds() -> float:
    """How long a refresh claim (C10) lasts: longer than every call of one refresh at its deadline
    (C14), so that no second request sends the same refresh token while the first one waits."""
    return REFRESH_CALLS * app_settings.HTTP_DEADLINE + 5


WAIT_STEP_SECONDS = 0.1


@sensitive_variables()
def refresh(token_set: TokenSet, *, resource: str = ""):
    """Refresh ``token_set`` unless another request did or does it (C10); returns the fresh set, or,
    with ``resource``, the :class:`ResourceToken` for it (the set's refresh token rotated)."""
    deadline = time.monotonic() + claim_seconds()
    seen = token_set.version
    while True:
        kept = _kept(token_set, resource) if resource else None
        if kept is not None:  # obtained by another request meanwhile
            return kept
        current, claim = _claim(token_set.pk, seen)
        if claim is not None:
            break
        if current is not None:  # refreshed by another request
            if not resource:
                return current
            seen = current.version  # refreshed for another audience: claim the new version
            continue
        if time.monotonic() > deadline:
            raise ProviderError("The sign-in is being renewed by another request; try again.", code="busy")
        time.sleep(WAIT_STEP_SECONDS)
    try:
        token_response = _call_provider(current, resource=resource)
    except ReauthenticationRequired:
        # RFC 6749 5.2 invalid_grant (revoked or expired), or no refresh token: the set is worth nothing.
        logger.info(
            "client_app: tokens of user %s at %s need a new login", current.user_id, current.provider.slug
        )
        TokenSet.objects.filter(pk=current.pk, refresh_claim=claim).delete()
        raise
    except BaseException:
        TokenSet.objects.filter(pk=current.pk, refresh_claim=claim).update(
            refresh_claim="", refresh_claimed_until=None
        )
        raise
    if resource:
        return _store_resource_token(current, claim, resource, token_response)
    return _store_refreshed(current, claim, token_response)


def _claim(pk: int, seen_version: int) -> tuple[TokenSet | None, str | None]:
    """(fresh set, None) if another request refreshed it; (set, claim) if this one may refresh;
    (None, None) while another request holds an unexpired claim."""
    now = timezone.now()
    with transaction.atomic():
        if TokenSet.objects.filter(pk=pk).update(version=F("version")) == 0:  # the write lock, first
            raise ReauthenticationRequired("The stored sign-in is gone: log in again.", code="no_tokens")
        current = TokenSet.objects.select_for_update().select_related("provider", "user").get(pk=pk)
        if current.version != seen_version and not current.expires_within(
            app_settings.TOKEN_REFRESH_MARGIN_SECONDS
        ):
            return current, None
        if current.refresh_claim and current.refresh_claimed_until and current.refresh_claimed_until > now:
            return None, None
        claim = secrets.token_hex(16)
        TokenSet.objects.filter(pk=pk).update(
            refresh_claim=claim, refresh_claimed_until=now + timedelta(seconds=claim_seconds())
        )
    return current, claim


@sensitive_variables()
def _call_provider(current: TokenSet, *, resource: str = "") -> TokenResponse:
    if not current.refresh_token:
        raise ReauthenticationRequired(
            "The sign-in expired and cannot be renewed: log in again.", code="no_refresh"
        )
    provider = current.provider
    provider_metadata = metadata.get_metadata(provider)
    token_response = tokens.refresh(
        provider,
        provider_metadata.require("token_endpoint"),
        refresh_token=current.refresh_token,
        resource=resource,
    )
    if token_response.id_token:
        _check_refreshed_id_token(current, provider, provider_metadata, token_response.id_token)
    return token_response


@sensitive_variables()
def _write_if_claimed(current: TokenSet, claim: str, **fields) -> None:
    """Write ``fields``, a new version and no claim, if the claim still holds (compare-and-swap on
    ``refresh_claim``); else the refresh took too long and another request owns the set."""
    updated = TokenSet.objects.filter(pk=current.pk, refresh_claim=claim).update(
        **fields,
        version=F("version") + 1,
        refresh_claim="",
        refresh_claimed_until=None,
        updated=timezone.now(),
    )
    if updated != 1:
        raise ProviderError("The sign-in was renewed too slowly; try again.", code="claim_lost")


@sensitive_variables()
def _store_refreshed(current: TokenSet, claim: str, token_response: TokenResponse) -> TokenSet:
    """Write the new tokens if the claim still holds (compare-and-swap on ``refresh_claim``)."""
    current.access_token = token_response.access_token
    # RFC 6749 6: the provider may keep the refresh token (no new one) or rotate it (OAuth 2.1 4.3.2).
    current.refresh_token = token_response.refresh_token or current.refresh_token
    current.id_token = token_response.id_token or current.id_token
    current.scope = token_response.scope or current.scope
    current.expires_at = _expires_at(token_response)
    _write_if_claimed(
        current,
        claim,
        access_token=current.access_token,
        refresh_token=current.refresh_token,
        id_token=current.id_token,
        scope=current.scope,
        expires_at=current.expires_at,
    )
    current.refresh_from_db()
    ResourceToken.objects.filter(token_set=current).delete()  # their refresh token was rotated
    tokens_refreshed.send(sender=type(current.provider), user=current.user, provider=current.provider)
    return current


@sensitive_variables()
def _store_resource_token(
    current: TokenSet, claim: str, resource: str, token_response: TokenResponse
) -> ResourceToken:
    """Keep the access token for ``resource`` and the rotated refresh token, if the claim still holds.

    The set's own access token is marked expired: a provider that rotates refresh tokens may revoke
    the previous pair (provider_app does, P8), so the next call with it refreshes first.
    """
    with transaction.atomic():
        _write_if_claimed(
            current,
            claim,
            refresh_token=token_response.refresh_token or current.refresh_token,
            id_token=token_response.id_token or current.id_token,
            expires_at=timezone.now(),
        )
        ResourceToken.objects.filter(token_set=current).delete()
        kept = ResourceToken.objects.create(
            token_set=current,
            resource=resource,
            access_token=token_response.access_token,
            scope=token_response.scope or current.scope,
            expires_at=_expires_at(token_response),
            token_set_version=current.version + 1,
        )
    tokens_refreshed.send(sender=type(current.provider), user=current.user, provider=current.provider)
    return kept


def _check_refreshed_id_token(current: TokenSet, provider, provider_metadata, raw: str) -> None:
    """OIDC Core 12.2: a refreshed ID token is validated like the first one and names the same user."""
    from client_app.internal.callback import validate_id_token

    claims = validate_id_token(provider, provider_metadata, raw, nonce=None)
    previous = id_token.stored_claims(current.id_token) if current.id_token else {}
    if previous.get("sub") not in (None, claims["sub"]):
        raise InvalidIdToken("The refreshed ID token is about another user.", code="bad_sub")


@sensitive_variables()
def revoke_resource_token(user, provider: Provider, resource: str) -> str:
    """Revoke at the provider (RFC 7009, ``access_token``) the user's kept token for ``resource``
    and forget it; returns the token revoked ("" when none is kept). The provider may revoke what
    was issued with it (provider_app: the refresh token of its pair, P8; tokens exchanged from it, X7)."""
    kept = ResourceToken.objects.filter(
        token_set__user=user, token_set__provider=provider, resource=resource
    ).first()
    if kept is None:
        return ""
    endpoint = metadata.get_metadata(provider).revocation_endpoint
    if not endpoint:
        raise ProviderError("The provider has no revocation endpoint.", code="no_revocation_endpoint")
    tokens.revoke(provider, endpoint, token=kept.access_token, token_type_hint="access_token")
    kept.delete()
    # RFC 7009 2.1: the provider may revoke related tokens, and the refresh token issued with this
    # one (the set's, while no refresh came since) is one; provider_app revokes it (P8). Presented
    # again it would be refused, and logged as a reused refresh token: forget it, so that the next
    # call asks the user to sign in again (ReauthenticationRequired) instead (C10).
    TokenSet.objects.filter(pk=kept.token_set_id, version=kept.token_set_version).update(
        refresh_token="", expires_at=timezone.now(), updated=timezone.now()
    )
    return kept.access_token


@sensitive_variables()
def revoke_and_delete(user, provider: Provider) -> None:
    """Forget the user's tokens; with a revocation endpoint, revoke them at the provider first
    (RFC 7009: the refresh token, which also ends its access tokens at most providers, then the
    access token and the services' tokens kept for the set, for a provider that does not)."""
    token_set = TokenSet.objects.filter(user=user, provider=provider).first()
    if token_set is None:
        return
    endpoint = ""
    try:
        endpoint = metadata.get_metadata(provider).revocation_endpoint
        services = [(kept.access_token, "access_token") for kept in token_set.resource_tokens.all()]
        for value, hint in (
            (token_set.refresh_token, "refresh_token"),
            (token_set.access_token, "access_token"),
            *services,
        ):
            if endpoint and value:
                tokens.revoke(provider, endpoint, token=value, token_type_hint=hint)
    except ProviderError as error:
        logger.warning("client_app: token revocation at %s failed (%s)", provider.slug, error.code)
    finally:
        token_set.delete()
