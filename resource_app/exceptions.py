"""Why a request was refused; each maps to one RFC 6750 answer (:mod:`resource_app.internal.challenges`)."""

from __future__ import annotations


class TokenRefused(Exception):
    """Base class: the request does not get the resource."""

    status = 401
    error = "invalid_token"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidToken(TokenRefused):
    """RFC 6750 3.1 ``invalid_token`` (401): malformed, expired, revoked, not for this service."""


class InvalidRequest(TokenRefused):
    """RFC 6750 3.1 ``invalid_request`` (400): a token where none may be, or a malformed header."""

    status = 400
    error = "invalid_request"


class InsufficientScope(TokenRefused):
    """RFC 6750 3.1 ``insufficient_scope`` (403): a valid token without the scopes the view needs."""

    status = 403
    error = "insufficient_scope"

    def __init__(self, description: str, scopes: list[str]) -> None:
        super().__init__(description)
        self.scopes = scopes


class ProviderUnavailable(TokenRefused):
    """The provider could not be asked (introspection mode): 503, nothing is decided."""

    status = 503
    error = "temporarily_unavailable"
