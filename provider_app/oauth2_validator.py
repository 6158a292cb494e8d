"""The protocol rules of provider_app: one DOT validator subclass (``OAUTH2_VALIDATOR_CLASS``).

Subclass it to release more claims (override :meth:`get_additional_claims` and extend
``oidc_claim_scope``) and point ``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]`` at the subclass.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749.errors import InvalidTokenError

from provider_app.claims import user_claims
from provider_app.client_cache import CachedClientMixin
from provider_app.redirect_uris import is_redirect_uri_transport_allowed, is_registered_redirect_uri
from provider_app.request_limits import check_stored_parameter_lengths
from provider_app.signing_keys import SigningKeyMixin
from provider_app.token_storage import OneTransactionTokenStorageMixin
from provider_app.two_factor.validator import AuthenticationClaimsMixin
from provider_app.validator_security import CodeAndTokenSecurityMixin


class ProviderOAuth2Validator(
    AuthenticationClaimsMixin,
    CodeAndTokenSecurityMixin,
    OneTransactionTokenStorageMixin,
    CachedClientMixin,
    SigningKeyMixin,
    OAuth2Validator,
):
    """DOT's validator with provider_app's stricter rules and its claims.

    Codes hashed and single-use, replay and refresh-token reuse: :mod:`provider_app.validator_security`.
    prompt=none, auth_time/amr/acr in the ID token: :mod:`provider_app.two_factor.validator`.
    Clients loaded from the shared cache: :mod:`provider_app.client_cache`.
    A token response written in one transaction: :mod:`provider_app.token_storage`.
    The signing key, rotated without downtime: :mod:`provider_app.signing_keys`.
    """

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope}

    def _load_application(self, client_id, request):
        # DOT treats a client_id with a NUL byte as unknown by catching psycopg2's ValueError;
        # psycopg 3 raises DataError instead, which became a 500 on PostgreSQL.
        if client_id and "\x00" in str(client_id):
            return None
        return super()._load_application(client_id, request)

    def _authenticate_basic_auth(self, request) -> bool:
        # A non-ASCII Authorization header makes base64.b64decode raise ValueError, which DOT does
        # not catch (it catches binascii.Error): treat it as failed client authentication, not a 500.
        try:
            return super()._authenticate_basic_auth(request)
        except ValueError:
            return False

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs) -> bool:
        # RFC 9700 2.6: http only for loopback. RFC 9700 2.1 / OIDC Core 3.1.2.1: simple string
        # comparison (DOT compares parsed components, so "https://CLIENT.example.com" would match).
        if not is_redirect_uri_transport_allowed(redirect_uri):
            return False
        if not is_registered_redirect_uri(redirect_uri, request.client.redirect_uris.split()):
            return False
        return super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs)

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs) -> bool:
        # RFC 9700 2.1.2 / OAuth 2.1: only "code". DOT refuses implicit response types but still
        # issues hybrid ones ("code id_token") to clients registered for openid-hybrid.
        if response_type != "code":
            return False
        # The first hook after client and redirect URI are known: errors can go back to the client.
        check_stored_parameter_lengths(request)
        return super().validate_response_type(client_id, response_type, client, request, *args, **kwargs)

    def get_userinfo_claims(self, request):
        # OIDC Core 5.3: UserInfo returns claims about an end-user. A client_credentials token has
        # none (DOT then fails on ``request.user.pk``): RFC 6750 3.1 ``invalid_token``.
        if request.user is None:
            raise InvalidTokenError(description="The access token was not issued to a user.")
        return super().get_userinfo_claims(request)

    def get_additional_claims(self, request) -> dict[str, Any]:
        return user_claims(request.user)

    @classmethod
    @cache
    def _get_additional_claims_is_request_agnostic(cls) -> bool:
        # DOT inspects the signature of get_additional_claims twice per ID token; a class's
        # signature does not change, so once per class.
        return super()._get_additional_claims_is_request_agnostic()

    def get_discovery_claims(self, request) -> list[str]:
        from provider_app.claims import SUPPORTED_CLAIMS
        from provider_app.two_factor.claims import SUPPORTED_CLAIMS as AUTHENTICATION_CLAIMS

        return list(dict.fromkeys([*SUPPORTED_CLAIMS, *AUTHENTICATION_CLAIMS]))
