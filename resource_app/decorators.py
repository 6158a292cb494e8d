"""Plain Django views: ``@token_required(scopes=[...])`` (RFC 6750 answers, ``request.access_token``)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.http import JsonResponse

from resource_app.exceptions import TokenRefused
from resource_app.internal.challenges import body, challenge
from resource_app.validation import authenticate, require_scopes


def refusal_response(refusal: TokenRefused | None) -> JsonResponse:
    """The RFC 6750 answer: 401 with the bare challenge when there was no token at all."""
    if refusal is None:
        # RFC 6750 3.1: no error code when the request carries no token at all.
        response = JsonResponse({"detail": "An access token is required."}, status=401)
        response["WWW-Authenticate"] = challenge()
        return response
    response = JsonResponse(body(refusal), status=refusal.status)
    response["WWW-Authenticate"] = challenge(refusal)
    response["Cache-Control"] = "no-store"
    if refusal.status == 503:
        response["Retry-After"] = "5"
    return response


def token_required(scopes: Iterable[str] = ()):
    scopes = tuple(scopes)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                if hasattr(request, "access_token"):  # BearerTokenMiddleware checked it already
                    token = request.access_token
                    if token is not None:
                        require_scopes(token, scopes)
                else:
                    token = authenticate(request, scopes)
            except TokenRefused as refusal:
                return refusal_response(refusal)
            if token is None:
                return refusal_response(None)
            request.access_token = token
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
