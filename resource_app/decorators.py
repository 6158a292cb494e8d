"""Plain Django views: ``@token_required(scopes=[...])`` (RFC 6750 answers, ``request.access_token``);
``actors=[...]`` / ``refused_actors=[...]`` decide by the client acting for the user (RFC 8693 ``act``)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.http import JsonResponse

from resource_app.exceptions import TokenRefused
from resource_app.internal.challenges import body, challenge
from resource_app.validation import authenticate, require_actor, require_scopes


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


def token_required(
    scopes: Iterable[str] = (), *, actors: Iterable[str] | None = None, refused_actors: Iterable[str] = ()
):
    scopes, refused_actors = tuple(scopes), tuple(refused_actors)
    actors = tuple(actors) if actors is not None else None

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                if hasattr(request, "access_token"):  # BearerTokenMiddleware checked it already
                    token = request.access_token
                else:
                    token = authenticate(request)
                if token is None:
                    return refusal_response(None)
                require_scopes(token, scopes)
                require_actor(token, actors, refused_actors)
            except TokenRefused as refusal:
                return refusal_response(refusal)
            request.access_token = token
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
