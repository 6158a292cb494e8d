"""Errors client_app raises. Views turn them into the error page; site code catches them from api.py."""

from __future__ import annotations


class ClientAppError(Exception):
    """Base class. ``message`` is safe to show to the user (it never holds a token or secret)."""

    code = "client_app_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class ConfigurationError(ClientAppError):
    """The provider's registration or metadata is unusable (missing endpoint, bad issuer, no keys)."""

    code = "configuration_error"


class ProviderError(ClientAppError):
    """The provider answered with an error, malformed data, or not at all (timeout, network)."""

    code = "provider_error"


class AuthorizationError(ClientAppError):
    """The authorization response carried an RFC 6749 4.1.2.1 error such as ``access_denied``."""


class InvalidState(ClientAppError):
    """The callback's ``state`` is unknown, used, expired or bound to another browser (C1)."""

    code = "invalid_state"


class InvalidIdToken(ClientAppError):
    """The ID token or the UserInfo response failed validation (C3, C5)."""

    code = "invalid_id_token"


class LoginRefused(ClientAppError):
    """The adapter refused the login or the sign-up, or linking would be unsafe (C6)."""

    code = "login_refused"


class ReauthenticationRequired(ClientAppError):
    """No usable token set: never stored, refresh token missing, expired or revoked. The user
    has to log in with the provider again."""

    code = "reauthentication_required"
