"""Authenticating the calling client at the introspection and revocation endpoints (RFC 9700 2.5)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.common import Request as OauthlibRequest


def authenticated_client(request: HttpRequest):
    """The application whose credentials (Basic or POST body) this request carries, or ``None``."""
    core = get_oauthlib_core()
    uri, http_method, body, headers = core._extract_params(request)
    oauth_request = OauthlibRequest(uri, http_method, body, headers)
    if not core.server.request_validator.authenticate_client(oauth_request):
        return None
    return oauth_request.client


def bearer_application(request: HttpRequest, scope: str):
    """The application of a valid bearer token that carries ``scope``, or ``None``."""
    if not request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
        return None
    core = get_oauthlib_core()
    valid, oauth_request = core.verify_request(request, scopes=[scope])
    if not valid:
        return None
    return oauth_request.access_token.application


def oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    """An RFC 6749 5.2 error response."""
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response
