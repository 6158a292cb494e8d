"""How a token response is written: every row in one transaction, nothing read back.

:class:`OneTransactionTokenStorageMixin` is one of the bases of
:class:`provider_app.oauth2_validator.ProviderOAuth2Validator`. Stock DOT writes a token response
of the authorization-code flow in two transactions and reads back what it just wrote:

- oauthlib signs the ID token before ``save_bearer_token`` runs, and DOT inserts the ``IDToken`` row
  right then, in a transaction of its own (one more commit, one more fsync);
- to link that row to the access token, DOT then decodes the ID token it has just signed, looks up
  the client by audience, verifies the signature and selects the ``IDToken`` by ``jti`` (two
  queries and an RSA verification for a row it holds in memory).

Here the ``IDToken`` is built when oauthlib signs it and inserted with the access token, inside the
token transaction: a request that fails after signing (a code redeemed concurrently, a rotated
refresh token presented again) rolls it back with everything else, so no orphan ID token remains.
The access and refresh tokens created are kept on the oauthlib request
(:data:`ISSUED_ACCESS_TOKEN`, :data:`ISSUED_REFRESH_TOKEN`) for later steps of the same request,
which need not query them again.
"""

from __future__ import annotations

from oauth2_provider.models import get_access_token_model, get_id_token_model

#: The ID token signed for this request, inserted with its access token.
PENDING_ID_TOKEN = "provider_app_pending_id_token"
#: The access token and the refresh token this request created.
ISSUED_ACCESS_TOKEN = "provider_app_issued_access_token"
ISSUED_REFRESH_TOKEN = "provider_app_issued_refresh_token"


class OneTransactionTokenStorageMixin:
    """``_save_id_token``, ``_create_access_token`` and ``_create_refresh_token`` of DOT 3.4, in one
    transaction and without read-backs. Extension point: :meth:`_id_token_stored`."""

    def _save_bearer_token(self, token, request, *args, **kwargs):
        result = super()._save_bearer_token(token, request, *args, **kwargs)
        # A branch that created no access token (DOT updates it in place when refresh tokens are not
        # rotated): the ID token the response carries is stored all the same, unlinked as DOT does.
        self._store_pending_id_token(request)
        return result

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
        setattr(request, PENDING_ID_TOKEN, id_token)
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
        access_token.save()
        setattr(request, ISSUED_ACCESS_TOKEN, access_token)
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        setattr(request, ISSUED_REFRESH_TOKEN, refresh_token)
        return refresh_token

    def _store_pending_id_token(self, request):
        id_token = getattr(request, PENDING_ID_TOKEN, None)
        if id_token is None:
            return None
        id_token.save()
        setattr(request, PENDING_ID_TOKEN, None)
        self._id_token_stored(id_token, request)
        return id_token

    def _id_token_stored(self, id_token, request) -> None:
        """Hook: ``id_token`` was just inserted, inside the token transaction."""
