"""What the site's own code uses to call APIs as a user: tokens, headers or an authorized session.

    from client_app.api import authorized_session
    response = authorized_session(request.user, "demo").get("https://id.example.com/api/me")

Expired access tokens are refreshed transparently, and safely when two requests refresh at once
(C10). :class:`~client_app.exceptions.ReauthenticationRequired` means the user must log in with
the provider again (no tokens, refresh token missing, expired or revoked); a
:class:`~client_app.exceptions.ProviderError` means the provider could not be reached.
Tokens stay on the server: never put them in a page, a URL or a log line (C8).
"""

from __future__ import annotations

from client_app.exceptions import ConfigurationError, ProviderError, ReauthenticationRequired
from client_app.internal import token_store
from client_app.internal.http import TimeoutSession
from client_app.models import Provider

__all__ = [
    "AuthorizedSession",
    "ConfigurationError",
    "ProviderError",
    "ReauthenticationRequired",
    "authorization_headers",
    "authorized_session",
    "get_access_token",
    "get_provider",
]


def get_provider(provider: Provider | str) -> Provider:
    """A Provider from an instance or a slug (:class:`ConfigurationError` for an unknown slug)."""
    if isinstance(provider, Provider):
        return provider
    found = Provider.objects.filter(slug=provider).first()
    if found is None:
        raise ConfigurationError(f"No provider {provider!r} is registered.", code="unknown_provider")
    return found


def get_access_token(user, provider: Provider | str) -> str:
    """A valid access token of ``user`` at ``provider``, refreshed first if it is about to expire."""
    return token_store.get_token_set(user, get_provider(provider)).access_token


def authorization_headers(user, provider: Provider | str) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}`` for one request (RFC 6750 2.1)."""
    return {"Authorization": f"Bearer {get_access_token(user, provider)}"}


class AuthorizedSession(TimeoutSession):
    """A requests session that sends the user's current access token with every request and has
    client_app's timeout. The token is looked up (and refreshed) for each request.

    When the resource server answers 401 with ``error="invalid_token"`` (RFC 6750 3.1: expired or
    revoked before its announced expiry), the tokens are refreshed once and the request is sent again.
    """

    retry_on_invalid_token = True

    def __init__(self, user, provider: Provider | str) -> None:
        super().__init__()
        self.user = user
        self.provider = get_provider(provider)

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        token_set = token_store.get_token_set(self.user, self.provider)
        response = self._send(method, url, token_set.access_token, headers, *args, **kwargs)
        if self.retry_on_invalid_token and _invalid_token(response) and token_set.refresh_token:
            token_set = token_store.refresh(token_set)
            response = self._send(method, url, token_set.access_token, headers, *args, **kwargs)
        return response

    def _send(self, method, url, access_token: str, headers: dict, *args, **kwargs):
        headers = {**headers, "Authorization": f"Bearer {access_token}"}
        return super().request(method, url, *args, headers=headers, **kwargs)


def _invalid_token(response) -> bool:
    challenge = response.headers.get("WWW-Authenticate", "")
    return (
        response.status_code == 401
        and challenge.lower().startswith("bearer")
        and "invalid_token" in challenge
    )


def authorized_session(user, provider: Provider | str) -> AuthorizedSession:
    """A :class:`AuthorizedSession` for ``user`` at ``provider`` (an instance or a slug)."""
    return AuthorizedSession(user, provider)
