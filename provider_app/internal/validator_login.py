"""The validator's part of two-factor: silent login (``prompt=none``) and the authentication claims.

:class:`AuthenticationClaimsMixin` is one of the bases of
:class:`provider_app.oauth2_validator.ProviderOAuth2Validator`."""

from __future__ import annotations

from typing import Any

from provider_app.internal.login import attach_to_id_token, context_for_token_request, id_token_claims
from provider_app.internal.login_requirements import SILENT_AUTHORIZATION_META, SILENT_LOGIN_META
from provider_app.internal.token_storage import row_batch


class AuthenticationClaimsMixin:
    """``auth_time``, ``amr`` and ``acr`` from the authorization's authentication context (P19).

    ``prompt=none`` (OIDC Core 3.1.2.1): only the authorization view sees the browser session, so it
    answers through two ``request.META`` keys that DOT passes to oauthlib as headers; anything else
    (another view, a missing key) means "not silently possible": ``login_required``/``consent_required``.
    """

    def validate_silent_login(self, request) -> bool:
        return request.headers.get(SILENT_LOGIN_META) == "1"

    def validate_silent_authorization(self, request) -> bool:
        return request.headers.get(SILENT_AUTHORIZATION_META) == "1"

    def get_id_token_dictionary(self, token, token_handler, request) -> tuple[dict[str, Any], Any]:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        context = context_for_token_request(request)
        request.provider_app_authentication_context = context
        if context is None:
            # No record of how the user authenticated (a token from before two-factor existed):
            # claim nothing rather than DOT's last_login guess.
            claims.pop("auth_time", None)
        claims.update(id_token_claims(context))
        return claims, expiration_time

    def _id_token_stored(self, id_token, request) -> None:
        super()._id_token_stored(id_token, request)
        context = getattr(request, "provider_app_authentication_context", None)
        attach_to_id_token(context, id_token, row_batch(request))
