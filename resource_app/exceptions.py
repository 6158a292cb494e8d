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


class ActorNotAllowed(TokenRefused):
    """A valid token whose current actor (RFC 8693 ``act``) this resource does not take (403; the
    challenge says ``insufficient_scope``, the one RFC 6750 code for "valid but not enough")."""

    status = 403
    error = "insufficient_scope"


class ProviderUnavailable(TokenRefused):
    """The provider could not be asked (introspection mode): 503, nothing is decided."""

    status = 503
    error = "temporarily_unavailable"


class DenyListUnavailable(ProviderUnavailable):
    """This worker's copy of the deny-list could not be refreshed from the database for longer
    than its bound (E3): 503 rather than accept a token that may have been revoked."""


class ServiceCallError(Exception):
    """A call to another service could not be prepared or did not complete (:mod:`resource_app.calls`)."""


class TokenRequestRefused(ServiceCallError):
    """The provider refused the token this service asked for (RFC 6749 5.2 / RFC 8693 2.2.2):
    ``error`` is its error code (``invalid_grant``, ``invalid_target``, ``invalid_scope``...)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"The provider refused the token request: {error}.")
        self.error, self.description = error, description


class TokenRequestFailed(ServiceCallError):
    """The provider could not be asked for a token, or its answer was unusable (nothing was decided)."""
