"""DRF: ``BearerTokenAuthentication`` (RFC 6750) and ``HasScopes`` (scopes per view).

    class NotesView(APIView):
        authentication_classes = [BearerTokenAuthentication]
        permission_classes = [HasScopes]
        required_scopes = ["notes:read"]

``HasAllowedActor`` decides by the service acting for the user (RFC 8693 ``act``): the view's
``allowed_actors`` (client ids; a token without ``act`` is then refused) and ``refused_actors``.

``request.user`` is a :class:`~resource_app.tokens.TokenUser`, ``request.auth`` the
:class:`~resource_app.tokens.ValidatedToken`. Refusals carry RFC 6750 challenges: 401
``invalid_token``, 403 ``insufficient_scope`` (with the scopes needed), 400 ``invalid_request``;
503 when the provider cannot be asked in introspection mode.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from resource_app.exceptions import InsufficientScope, TokenRefused
from resource_app.internal.challenges import challenge
from resource_app.tokens import TokenUser, ValidatedToken
from resource_app.validation import authenticate, require_actor, require_scopes

_UNSET = object()


class TokenRefusedError(exceptions.APIException):
    """A refusal as DRF's exception: its status, RFC 6750 body and challenge."""

    def __init__(self, refusal: TokenRefused) -> None:
        super().__init__(detail={"error": refusal.error, "error_description": refusal.description})
        self.status_code = refusal.status
        self.auth_header = challenge(refusal)
        if refusal.status == 503:
            self.wait = 5


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        checked = getattr(request._request, "access_token", _UNSET)
        if checked is not _UNSET:  # BearerTokenMiddleware checked it already
            return (TokenUser(checked), checked) if checked is not None else None
        try:
            token = authenticate(request._request)
        except TokenRefused as refusal:
            raise TokenRefusedError(refusal) from None
        if token is None:
            return None
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return challenge()


class HasScopes(BasePermission):
    """Every scope in ``required_scopes_by_method[method]`` (HEAD counts as GET), else in the view's
    ``required_scopes``. A method with neither is refused; a view with neither is a configuration
    error."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ValidatedToken):
            return False  # DRF answers 401 with the bare challenge (no token) or 403
        try:
            require_scopes(token, self.scopes_for(request.method, view))
        except TokenRefused as refusal:
            raise TokenRefusedError(refusal) from None
        return True

    @staticmethod
    def scopes_for(method: str, view) -> list[str]:
        by_method = getattr(view, "required_scopes_by_method", None) or {}
        default = getattr(view, "required_scopes", None)
        if not by_method and default is None:
            raise ImproperlyConfigured(f"{type(view).__name__} uses HasScopes without required_scopes.")
        scopes = by_method.get(method, by_method.get("GET") if method == "HEAD" else None)
        if scopes is None:
            scopes = default
        if scopes is None:
            raise TokenRefusedError(InsufficientScope("This method is not open to any scope.", []))
        return list(scopes)


class HasAllowedActor(BasePermission):
    """The token's current actor (``request.auth.actor``) is one of the view's ``allowed_actors``
    (when set) and none of its ``refused_actors``; 403 ``insufficient_scope`` otherwise."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ValidatedToken):
            return False
        try:
            require_actor(token, getattr(view, "allowed_actors", None), getattr(view, "refused_actors", ()))
        except TokenRefused as refusal:
            raise TokenRefusedError(refusal) from None
        return True
