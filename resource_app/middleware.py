"""``BearerTokenMiddleware``: every request's bearer token checked once, for any kind of view.

A request with a valid token gets ``request.access_token`` (a :class:`~resource_app.tokens.ValidatedToken`);
one without a token gets ``None`` (the view decides whether it needs one: ``@token_required`` or
:class:`TokenRequiredMixin`); a request with a bad token is answered at once with the RFC 6750
refusal, so that a bad token is never mistaken for an anonymous request.
"""

from __future__ import annotations

from resource_app.decorators import refusal_response
from resource_app.exceptions import TokenRefused
from resource_app.validation import authenticate, require_actor, require_scopes


class BearerTokenMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.access_token = authenticate(request)
        except TokenRefused as refusal:
            return refusal_response(refusal)
        return self.get_response(request)


class TokenRequiredMixin:
    """Class-based views: a token is required, with every scope in ``required_scopes``, and its
    current actor (RFC 8693 ``act``) in ``allowed_actors`` (when set), not in ``refused_actors``."""

    required_scopes: tuple[str, ...] = ()
    allowed_actors: tuple[str, ...] | None = None
    refused_actors: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        token = getattr(request, "access_token", None)
        try:
            if token is None and not hasattr(request, "access_token"):
                token = request.access_token = authenticate(request)
            if token is None:
                return refusal_response(None)
            require_scopes(token, self.required_scopes)
            require_actor(token, self.allowed_actors, self.refused_actors)
        except TokenRefused as refusal:
            return refusal_response(refusal)
        return super().dispatch(request, *args, **kwargs)
