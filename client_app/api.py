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
    "revoke_access_token",
]


def get_provider(provider: Provider | str) -> Provider:
    """A Provider from an instance or a slug (:class:`ConfigurationError` for an unknown slug)."""
    if isinstance(provider, Provider):
        return provider
    found = Provider.objects.filter(slug=provider).first()
    if found is None:
        raise ConfigurationError(f"No provider {provider!r} is registered.", code="unknown_provider")
    return found


def get_access_token(user, provider: Provider | str, resource: str | None = None) -> str:
    """A valid access token of ``user`` at ``provider``, refreshed first if it is about to expire.

    ``resource``: one of the provider's ``resources`` (RFC 8707): a token for that service, obtained
    by a refresh with ``resource`` (RFC 8707 2.2) and kept, encrypted, until shortly before it expires
    or until the sign-in is refreshed again. Another value is a :class:`ConfigurationError`.
    """
    provider = get_provider(provider)
    if resource is None:
        return token_store.get_token_set(user, provider).access_token
    resource = _checked_resource(provider, resource)
    # The set's own token is not refreshed for this: a refresh rotates the refresh token.
    return token_store.get_resource_token(token_store.stored_token_set(user, provider), resource).access_token


def _checked_resource(provider: Provider, resource: str) -> str:
    if resource not in provider.resource_list:
        raise ConfigurationError(
            f"{resource!r} is not one of the resources of the provider {provider.slug!r}.",
            code="unknown_resource",
        )
    return resource


def authorization_headers(user, provider: Provider | str, resource: str | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}`` for one request (RFC 6750 2.1); ``resource``: as for
    :func:`get_access_token`."""
    return {"Authorization": f"Bearer {get_access_token(user, provider, resource)}"}


class AuthorizedSession(TimeoutSession):
    """A requests session that sends the user's current access token with every request and has
    client_app's timeout. The token is looked up (and refreshed) for each request.

    When the resource server answers 401 with ``error="invalid_token"`` (RFC 6750 3.1: expired or
    revoked before its announced expiry), the tokens are refreshed once and the request is sent again.

    ``resource``: one of the provider's ``resources``; the session sends that service's token
    (:func:`get_access_token`).
    """

    retry_on_invalid_token = True

    def __init__(self, user, provider: Provider | str, resource: str | None = None) -> None:
        super().__init__()
        self.user = user
        self.provider = get_provider(provider)
        self.resource = _checked_resource(self.provider, resource) if resource is not None else None

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        if self.resource is None:
            token_set = token_store.get_token_set(self.user, self.provider)
        else:  # the set's own token is not refreshed for a service's (a refresh rotates)
            token_set = token_store.stored_token_set(self.user, self.provider)
        sent = self._token(token_set)
        response = self._send(method, url, sent, headers, *args, **kwargs)
        if self.retry_on_invalid_token and _invalid_token(response) and token_set.refresh_token:
            if self.resource is None:
                token = token_store.refresh(token_set).access_token
            else:  # the kept token was refused: never sent again, a new one obtained
                token_store.forget_rejected_resource_token(token_set, self.resource, sent)
                token = token_store.refresh(token_set, resource=self.resource).access_token
            response = self._send(method, url, token, headers, *args, **kwargs)
        return response

    def _token(self, token_set) -> str:
        if self.resource is None:
            return token_set.access_token
        return token_store.get_resource_token(token_set, self.resource).access_token

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


def revoke_access_token(user, provider: Provider | str, resource: str) -> str:
    """Revoke at the provider (RFC 7009) the token of ``user`` kept for ``resource`` (one of the
    provider's ``resources``) and forget it. Returns the revoked token ("" if none was kept), so
    that the caller can show how services treat it now. The provider may also revoke what was
    issued with it (provider_app: the sign-in's refresh token, P8; RFC 7009 2.1): the sign-in's
    refresh token is forgotten too, and the next call for the user's tokens raises
    ``ReauthenticationRequired`` (sign in again) rather than presenting a revoked refresh token."""
    provider = get_provider(provider)
    return token_store.revoke_resource_token(user, provider, _checked_resource(provider, resource))


def authorized_session(user, provider: Provider | str, resource: str | None = None) -> AuthorizedSession:
    """A :class:`AuthorizedSession` for ``user`` at ``provider`` (an instance or a slug); with
    ``resource``, for that service (:func:`get_access_token`)."""
    return AuthorizedSession(user, provider, resource)
