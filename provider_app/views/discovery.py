"""OpenID Provider metadata that says exactly what provider_app enforces (RFC 9700 2.6, P17)."""

from __future__ import annotations

from django.http import JsonResponse
from oauth2_provider.views import ConnectDiscoveryInfoView


class DiscoveryView(ConnectDiscoveryInfoView):
    """DOT's discovery document, corrected and completed.

    RS256 is the only ID token algorithm (no HS256 with a client secret), the grants are the ones
    the server accepts, and the revocation, introspection and end-session endpoints are listed.
    """

    grant_types_supported = ["authorization_code", "refresh_token", "client_credentials"]
    endpoint_auth_methods = ["client_secret_basic", "client_secret_post"]

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        metadata = _json(response)
        metadata.update(
            {
                "id_token_signing_alg_values_supported": ["RS256"],
                "grant_types_supported": self.grant_types_supported,
                "response_modes_supported": ["query"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": self.endpoint_auth_methods,
                "revocation_endpoint": self._get_endpoint_url(request, "revoke-token", required=True),
                "revocation_endpoint_auth_methods_supported": self.endpoint_auth_methods,
                "introspection_endpoint": self._get_endpoint_url(request, "introspect", required=True),
                "introspection_endpoint_auth_methods_supported": self.endpoint_auth_methods,
                "claims_parameter_supported": False,
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
            }
        )
        metadata.pop("client_id_metadata_document_supported", None)
        new_response = JsonResponse(metadata)
        new_response["Access-Control-Allow-Origin"] = "*"
        new_response["Cache-Control"] = "public, max-age=300"
        return new_response


def _json(response) -> dict:
    import json

    return json.loads(response.content)
