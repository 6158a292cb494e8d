"""Authorization codes at rest and at redemption (P5, P16).

* At rest only SHA-256 of a code is stored (DOT keeps ``Grant.code`` in plaintext): every Grant
  lookup of :class:`provider_app.oauth2_validator.ProviderOAuth2Validator` goes through
  :func:`provider_app.internal.tokens.digest`.
* Redemption deletes the grant row in the same transaction that inserts the tokens, after every
  check passed (a request that fails a check, say a wrong ``redirect_uri``, does not burn the
  code). Of concurrent requests exactly one deletes the row; the others delete nothing, roll back
  and answer ``invalid_grant`` (RFC 6749 4.1.2, OAuth 2.1 4.1.3).
* The hash of a redeemed code is remembered (:class:`~provider_app.models.RedeemedCode`)
  in that same transaction with the tokens issued from it, so any later presentation of the code,
  concurrent or not, finds them and revokes them (RFC 6749 4.1.2, RFC 9700 4.2.4)."""

from __future__ import annotations

from datetime import timedelta

from django.db import router, transaction
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from provider_app.app_settings import app_settings
from provider_app.internal import sql_rows
from provider_app.internal.row_batch import delete_by_pk
from provider_app.internal.token_storage import row_batch, save_row, state_of
from provider_app.internal.tokens import digest, revoke_token_family
from provider_app.models import RedeemedCode


class CodeAlreadyRedeemed(Exception):
    """Another request consumed the code between its validation and this request's token insert."""


def retention() -> timedelta:
    """How long a redeemed code is remembered for replay detection."""
    return timedelta(seconds=app_settings.REDEEMED_CODE_RETENTION_SECONDS)


def find_grant(code: str, client=None):
    """The stored grant for a raw code (and client, when given), or None.

    One statement loads the grant, its user and the authentication context stored for the code
    (:mod:`provider_app.internal.sql_rows`).
    """
    grant = sql_rows.grant_by_code(digest(code))
    if grant is None or (client is not None and grant.application_id != client.pk):
        return None
    return grant


def find_grant_for_request(code: str, request, client=None):
    """:func:`find_grant`, read once per token request.

    oauthlib asks for a code's scopes (to choose between OAuth and OpenID Connect) before it
    validates the code; the grant found then, by code alone, is kept on the request and reused when
    it belongs to ``client``.
    """
    state = state_of(request)
    found = state.grant_by_code
    if found is None or found[0] != code:
        found = state.grant_by_code = (code, find_grant(code))
    grant = found[1]
    if grant is not None and client is not None and grant.application_id != client.pk:
        return None
    return grant


def claim_grant(grant, *, request=None) -> None:
    """Consume ``grant`` in the transaction that saves its tokens (one ``DELETE``).

    Of concurrent requests exactly one deletes the row; on PostgreSQL the others wait for its
    commit and delete nothing, on SQLite the database lock serialises them the same way.
    Raises :class:`CodeAlreadyRedeemed` for them, and nothing of theirs is written. With the token
    response's row batch (``request``), the deletion is the batch's claim, made when the tokens are
    written and deciding whether they are (:meth:`provider_app.internal.row_batch.RowBatch.claim`).
    """
    batch = row_batch(request)
    if batch is not None:
        batch.claim(get_grant_model(), grant.pk, otherwise=CodeAlreadyRedeemed)
    elif not delete_by_pk(get_grant_model(), grant.pk):
        raise CodeAlreadyRedeemed


def remember_redemption(grant, access_token, token_family, *, request=None) -> RedeemedCode:
    """Record the redeemed code's hash with what it issued (same transaction as the tokens; added
    to the token response's row batch when ``request`` has one)."""
    redemption = RedeemedCode(
        code_hash=grant.code,
        application_id=grant.application_id,
        user_id=grant.user_id,
        expires=timezone.now() + retention(),
        token_family=token_family,
    )
    return save_row(redemption, request, access_token_id=access_token)


def handle_replay(code: str) -> RedeemedCode | None:
    """A redeemed code came back: mark it replayed and revoke everything issued from it."""
    with transaction.atomic(using=router.db_for_write(RedeemedCode)):
        redemption = RedeemedCode.objects.select_for_update().filter(code_hash=digest(code)).first()
        if redemption is None:
            return None
        if redemption.replayed is None:
            redemption.replayed = timezone.now()
            redemption.save(update_fields=["replayed"])
        redemption.revoked_access_tokens = revoke_token_family(
            redemption.token_family, access_token_ids=[redemption.access_token_id]
        )
    return redemption


def clear_expired_redemptions() -> int:
    """Forget redeemed codes past their retention period; returns how many were deleted."""
    deleted, _ = RedeemedCode.objects.filter(expires__lte=timezone.now()).delete()
    return deleted
