"""Bearer-token authentication for DRF: the Authorization header only (RFC 9700 4.3.2, RFC 6750 2.1)."""

from __future__ import annotations

from oauth2_provider.contrib.rest_framework import OAuth2Authentication


class BearerTokenAuthentication(OAuth2Authentication):
    """DOT's DRF authentication, refusing tokens sent in the query string or the form body.

    A request that carries ``access_token`` anywhere but the ``Authorization`` header is not
    authenticated, even if it also has a valid header, so a token in a URL never works.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request):
        django_request = request._request
        if "access_token" in django_request.GET or "access_token" in getattr(django_request, "POST", {}):
            return None
        if not django_request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
            return None
        return super().authenticate(request)
