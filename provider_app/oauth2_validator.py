"""The protocol rules of provider_app: one DOT validator subclass (``OAUTH2_VALIDATOR_CLASS``).

Subclass it to release more claims (override :meth:`get_additional_claims` and extend
``oidc_claim_scope``) and point ``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]`` at the subclass.

Authorization request parameters that are stored with the code must fit their columns.

DOT keeps ``nonce`` in a 255-character column and ``code_challenge`` in a 128-character one; an
over-long value used to reach the database, where PostgreSQL refuses it with a DataError (a 500).
An S256 challenge is exactly 43 characters (RFC 7636 4.2), so the limits never bind a real client.

The OpenID Connect claims provider_app releases about a user, by scope (OIDC Core 5.4).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidTokenError

from provider_app.internal.clients import (
    CachedClientMixin,
    is_redirect_uri_transport_allowed,
    is_registered_redirect_uri,
)
from provider_app.internal.signing_keys import SigningKeyMixin
from provider_app.internal.token_storage import OneTransactionTokenStorageMixin
from provider_app.internal.validator_login import AuthenticationClaimsMixin
from provider_app.internal.validator_security import CodeAndTokenSecurityMixin

# --------------------------------------------------------------------------------------------------
# The protocol rules of provider_app: one DOT validator subclass (``OAUTH2_VALIDATOR_CLASS``).
# --------------------------------------------------------------------------------------------------


class ProviderOAuth2Validator(
    AuthenticationClaimsMixin,
    CodeAndTokenSecurityMixin,
    OneTransactionTokenStorageMixin,
    CachedClientMixin,
    SigningKeyMixin,
    OAuth2Validator,
):
    """DOT's validator with provider_app's stricter rules and its claims.

    Codes hashed and single-use, replay and refresh-token reuse:
    :mod:`provider_app.internal.validator_security`.
    prompt=none, auth_time/amr/acr in the ID token: :mod:`provider_app.internal.validator_login`.
    Clients loaded from the shared cache: :mod:`provider_app.internal.clients`.
    A token response written in one transaction: :mod:`provider_app.internal.token_storage`.
    The signing key, rotated without downtime: :mod:`provider_app.internal.signing_keys`.
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
        from provider_app.internal.login import SUPPORTED_CLAIMS as AUTHENTICATION_CLAIMS

        return list(dict.fromkeys([*SUPPORTED_CLAIMS, *AUTHENTICATION_CLAIMS]))


# --------------------------------------------------------------------------------------------------
# Authorization request parameters that are stored with the code must fit their columns.
# --------------------------------------------------------------------------------------------------

MAX_LENGTHS = {"nonce": 255, "code_challenge": 128}


def check_stored_parameter_lengths(request) -> None:
    """Raise ``invalid_request`` (sent back to the registered redirect URI) for an over-long value."""
    for name, limit in MAX_LENGTHS.items():
        value = getattr(request, name, None)
        if value and len(value) > limit:
            raise InvalidRequestError(description=f"The {name} parameter is too long.", request=request)


# --------------------------------------------------------------------------------------------------
# The OpenID Connect claims provider_app releases about a user, by scope (OIDC Core 5.4).
# --------------------------------------------------------------------------------------------------


def user_claims(user: AbstractBaseUser) -> dict[str, Any]:
    """Standard claims for ``user``; the validator releases each only with its scope."""
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    claims: dict[str, Any] = {
        "preferred_username": user.get_username(),
        "name": full_name or user.get_username(),
        "given_name": getattr(user, "first_name", "") or None,
        "family_name": getattr(user, "last_name", "") or None,
        "email": getattr(user, "email", "") or None,
    }
    if claims["email"]:
        # Django does not verify addresses: say so, so that clients never link accounts by it.
        claims["email_verified"] = False
    return {name: value for name, value in claims.items() if value is not None}


SUPPORTED_CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "preferred_username",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
]
