"""OpenID Provider metadata that says exactly what provider_app enforces (RFC 9700 2.6, P17)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from oauth2_provider import views as dot_views
from oauth2_provider.views import ConnectDiscoveryInfoView

from provider_app.app_settings import app_settings
from provider_app.internal import signing_keys

# RFC 6749 2.3.1; "none" is a public client proving possession with PKCE only (RFC 7636).
TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
# Introspection answers only authenticated confidential clients (RFC 7662 2.1).
INTROSPECTION_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
# RFC 7009 2.1: a public client revokes its own tokens by client_id.
REVOCATION_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class DiscoveryView(ConnectDiscoveryInfoView):
    """DOT's discovery document, corrected and completed.

    RS256 is the only ID token algorithm (no HS256 with a client secret), the grants are the ones
    the server accepts, and the revocation, introspection and end-session endpoints are listed.
    A project that enables more (another grant, another auth method) overrides
    :meth:`corrections` so that discovery keeps matching what is enforced.
    """

    grant_types_supported = [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",  # RFC 8693 (internal.token_exchange)
    ]

    def corrections(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "id_token_signing_alg_values_supported": ["RS256"],
            "grant_types_supported": self.grant_types_supported,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
            "revocation_endpoint": self._get_endpoint_url(request, "revoke-token", required=True),
            "revocation_endpoint_auth_methods_supported": REVOCATION_AUTH_METHODS,
            "introspection_endpoint": self._get_endpoint_url(request, "introspect", required=True),
            "introspection_endpoint_auth_methods_supported": INTROSPECTION_AUTH_METHODS,
            # OIDC Discovery 3: the acr values ID tokens carry (provider_app.two_factor).
            "acr_values_supported": [app_settings.ACR_SINGLE_FACTOR, app_settings.ACR_MULTI_FACTOR],
            # OIDC Back-Channel Logout 2.1 (L1): logout tokens, with sid (ID tokens carry it).
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
        }

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        metadata = json.loads(response.content)
        metadata.update(self.corrections(request))
        metadata.pop("client_id_metadata_document_supported", None)
        new_response = JsonResponse(metadata)
        new_response["Access-Control-Allow-Origin"] = "*"
        new_response["Cache-Control"] = "public, max-age=300"
        return new_response


class JwksView(dot_views.JwksInfoView):
    """The JWKS: every published signing key (provider_app.internal.signing_keys), cacheable for
    ``OIDC_JWKS_MAX_AGE_SECONDS`` as DOT serves it (R7, R11)."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        keys = JsonResponse({"keys": signing_keys.public_keys()})
        for header in ("Access-Control-Allow-Origin", "Cache-Control"):
            keys[header] = response[header]
        return keys
