"""How a token response is written: every row in one transaction, nothing read back.

Mechanics only: what is written, and in which order, is decided by
:class:`provider_app.oauth2_validator.ProviderOAuth2Validator`. Stock DOT writes a token response of
the authorization-code flow in two transactions and reads back what it just wrote:

- oauthlib signs the ID token before ``save_bearer_token`` runs, and DOT inserts the ``IDToken`` row
  right then, in a transaction of its own (one more commit, one more fsync);
- to link that row to the access token, DOT then decodes the ID token it has just signed, looks up
  the client by audience, verifies the signature and selects the ``IDToken`` by ``jti`` (two
  queries and an RSA verification for a row it holds in memory).

Here the ``IDToken`` is built when oauthlib signs it and inserted with the access token, inside the
token transaction (:func:`in_one_transaction`): a request that fails after signing (a code redeemed
concurrently, a rotated refresh token presented again) rolls it back with everything else, so no
orphan ID token remains. The access and refresh tokens created are kept in the request's
:class:`TokenRequestState` for later steps of the same request, which need not query them again.

The new rows are not saved one by one: they go to the request's
:class:`~provider_app.internal.row_batch.RowBatch` (:func:`save_row`), with the redeemed code's
record, the audit event and the authentication context's link, and are written by one statement on
PostgreSQL at the end of the transaction. Their primary keys are set then; until then a row refers
to another by instance.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections, models, router, transaction
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from provider_app.internal import compat
from provider_app.internal.row_batch import RowBatch

T = TypeVar("T")


@dataclass
class TokenRequestState:
    """What one oauthlib request carries from one validator step to the next.

    Attached once to the oauthlib request (:func:`state_of`). Kept in the request's ``__dict__``:
    oauthlib answers any other attribute name from the request's parameters, which a client chooses.
    """

    #: The grant ``validate_code`` accepted; later checks (PKCE, redirect_uri, nonce) read this one.
    grant: models.Model | None = None
    #: The grant last looked up by code alone: ``(code, grant or None)``.
    grant_by_code: tuple[str, models.Model | None] | None = None
    #: The grant was consumed with the token insert.
    code_claimed: bool = False
    #: The registered resource servers the access token is for (``internal.resources.Audience``).
    audience: Any = None
    #: How the user authenticated for this grant (``AuthenticationContext`` or None).
    authentication_context: models.Model | None = None
    #: The ID token signed for this request, inserted with its access token.
    pending_id_token: models.Model | None = None
    #: The access token and the refresh token this request created.
    issued_access_token: models.Model | None = None
    issued_refresh_token: models.Model | None = None
    #: The rows of this token response, written when its transaction ends.
    row_batch: RowBatch | None = None
    #: RFC 8693: the requesting client's exchange policy, and the exchange the validator accepted
    #: (``internal.token_exchange.Exchange``), written with the new access token.
    exchange_policy: models.Model | None = None
    exchange: Any = None


_STATE = "provider_app_state"


def state_of(request) -> TokenRequestState:
    """The state of an oauthlib request, made on first use."""
    state = request.__dict__.get(_STATE)
    if state is None:
        state = request.__dict__[_STATE] = TokenRequestState()
    return state


def row_batch(request) -> RowBatch | None:
    """The batch of the token response being saved for ``request``; None outside of it."""
    return state_of(request).row_batch if request is not None else None


def save_row(instance, request, **pk_of):
    """Add ``instance`` to the request's batch, or save it now when there is none (``request``
    may be None). ``pk_of``: see :meth:`RowBatch.insert`."""
    batch = row_batch(request)
    if batch is None:
        for attname, row in pk_of.items():
            setattr(instance, attname, row.pk)
        instance.save()
    else:
        batch.insert(instance, pk_of=pk_of)
    return instance


def _nothing_sent(alias: str) -> bool:
    """The current transaction has sent no statement and has nothing to run on commit."""
    return compat.transaction_is_untouched(connections[alias])


def in_one_transaction(request, save: Callable[[], T]) -> T:
    """Run ``save`` (DOT's ``_save_bearer_token``) in one transaction on the access token's database,
    with the batch of the new rows flushed at its end.

    When the transaction has sent nothing to the database (a code exchange, client_credentials:
    everything is in the batch, the code's claim included), the batch goes after it, alone: one
    statement is a transaction of its own, so BEGIN and COMMIT cost no round trips.
    """
    state = state_of(request)
    batch = state.row_batch = RowBatch()
    alias = router.db_for_write(get_access_token_model())
    try:
        with transaction.atomic(using=alias):
            result = save()
            if not (batch.writes_one_statement() and _nothing_sent(alias)):
                batch.flush()
        batch.flush()
    finally:
        state.row_batch = None
    return result


class TokenStorageMixin:
    """DOT 3.4's ``_save_id_token``, ``_create_access_token`` and ``_create_refresh_token``, adding
    their rows to the token response's batch. Extension point: :meth:`_id_token_stored`."""

    def _save_id_token(self, jti, request, expires, *args, **kwargs):
        # Called by DOT's finalize_id_token once the JWT is signed: keep the row for the token
        # transaction instead of committing it now (same fields as DOT's _save_id_token).
        id_token = get_id_token_model()(
            user=request.user,
            scope=request.scope or " ".join(request.scopes),
            expires=expires,
            jti=jti,
            application=request.client,
        )
        state_of(request).pending_id_token = id_token
        return id_token

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        id_token = self._store_pending_id_token(request) if token.get("id_token") else None
        if token.get("id_token") and id_token is None:
            # An ID token signed elsewhere (a subclass of DOT's flow): DOT's own lookup.
            id_token = self._load_id_token(token["id_token"])
        access_token = get_access_token_model()(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(access_token, token["access_token"])
        save_row(access_token, request)
        state_of(request).issued_access_token = access_token
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        # DOT 3.4's _create_refresh_token, the row added to the batch.
        if previous_refresh_token:
            token_family = previous_refresh_token.token_family
        else:
            token_family = uuid.uuid4()
        refresh_token = get_refresh_token_model()(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=token_family,
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(refresh_token, refresh_token_code)
        save_row(refresh_token, request)
        state_of(request).issued_refresh_token = refresh_token
        return refresh_token

    def _store_pending_id_token(self, request):
        state = state_of(request)
        id_token, state.pending_id_token = state.pending_id_token, None
        if id_token is None:
            return None
        save_row(id_token, request)
        self._id_token_stored(id_token, request)
        return id_token

    def _id_token_stored(self, id_token, request) -> None:
        """Hook: ``id_token`` is stored in the token transaction (added to :func:`row_batch`, whose
        other writes may refer to it)."""
