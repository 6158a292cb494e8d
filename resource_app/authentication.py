"""DRF: ``BearerTokenAuthentication`` (RFC 6750) and ``HasScopes`` (scopes per view).

    class NotesView(APIView):
        authentication_classes = [BearerTokenAuthentication]
        permission_classes = [HasScopes]
        required_scopes = ["notes:read"]

``request.user`` is a :class:`~resource_app.tokens.TokenUser`, ``request.auth`` the
:class:`~resource_app.tokens.ValidatedToken`. Refusals carry RFC 6750 challenges: 401
``invalid_token``, 403 ``insufficient_scope`` (with the scopes needed), 400 ``invalid_request``;
503 when the provider cannot be asked in introspection mode.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from resource_app.exceptions import TokenRefused
from resource_app.internal.challenges import challenge
from resource_app.tokens import TokenUser, ValidatedToken
from resource_app.validation import authenticate, require_scopes


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
    """Every scope in the view's ``required_scopes`` (or ``required_scopes_by_method[method]``)."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ValidatedToken):
            return False  # DRF answers 401 with the bare challenge (no token) or 403
        by_method = getattr(view, "required_scopes_by_method", {}) or {}
        scopes = by_method.get(request.method, getattr(view, "required_scopes", ()))
        try:
            require_scopes(token, scopes)
        except TokenRefused as refusal:
            raise TokenRefusedError(refusal) from None
        return True
