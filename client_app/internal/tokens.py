"""Calls to the token and revocation endpoints, authenticated with the client secret (RFC 6749 2.3.1,
4.1.3, 6; RFC 7009). Server to server only, with a timeout (C9); responses never reach a log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.views.decorators.debug import sensitive_variables

from client_app.exceptions import ProviderError, ReauthenticationRequired
from client_app.internal import http
from client_app.models import Provider


@dataclass
class TokenResponse:
    """RFC 6749 5.1 successful token response."""

    # repr=False: an error report or a log line that shows this object shows no token (C8, C15).
    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    refresh_token: str = field(repr=False)
    id_token: str = field(repr=False)
    scope: str

    @classmethod
    @sensitive_variables()
    def parse(cls, body: dict[str, Any]) -> TokenResponse:
        access_token = body.get("access_token")
        if not _is_token(access_token) or not access_token:
            raise ProviderError(
                "The provider's token response has no usable access token.", code="malformed_response"
            )
        token_type = str(body.get("token_type") or "")
        # RFC 6749 7.1: only bearer tokens are understood here.
        if token_type.lower() != "bearer":
            raise ProviderError(
                "The provider issued a token type this site cannot use.", code="malformed_response"
            )
        for name in ("refresh_token", "id_token", "scope"):
            if not _is_token(body.get(name, "")):
                raise ProviderError("The provider's token response is malformed.", code="malformed_response")
        return cls(
            access_token=access_token,
            token_type="Bearer",
            expires_in=_lifetime(body.get("expires_in")),
            refresh_token=_str(body.get("refresh_token")),
            id_token=_str(body.get("id_token")),
            scope=_str(body.get("scope")),
        )


#: The longest lifetime taken from ``expires_in``: a larger number (``10**20``) means "long", not
#: a date past the year 9999 that Python and the database cannot hold (C15).
MAX_EXPIRES_IN = 366 * 24 * 3600


def _lifetime(value: Any) -> int | None:
    """RFC 6749 5.1 ``expires_in``: a non-negative integer (a JSON number, or digits in a string)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProviderError("The provider's token response is malformed.", code="malformed_response")
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise ProviderError("The provider's token response is malformed.", code="malformed_response")
        value = int(value)
    if isinstance(value, float) and not value.is_integer():
        value = int(value)
    return max(0, min(int(value), MAX_EXPIRES_IN))


def _is_token(value: Any) -> bool:
    """RFC 6749 A.12-A.17: tokens and scopes are printable ASCII (VSCHAR); anything else (a
    non-ASCII access token broke the ``at_hash`` check, a NUL breaks PostgreSQL) is refused."""
    return isinstance(value, str) and all(" " <= c <= "~" for c in value)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


@sensitive_variables()
def _client_auth(provider: Provider, data: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 2.3.1: HTTP Basic with form-urlencoded id and secret, or both in the body."""
    if provider.token_endpoint_auth_method == Provider.AUTH_POST:
        data.update({"client_id": provider.client_id, "client_secret": provider.client_secret})
        return {"data": data}
    user = quote(provider.client_id, safe="")
    password = quote(provider.client_secret, safe="")
    return {"data": data, "auth": (user, password)}


@sensitive_variables()
def _post_token(
    provider: Provider, token_endpoint: str, data: dict[str, str], *, what: str
) -> dict[str, Any]:
    response = http.call(
        "POST",
        token_endpoint,
        what=what,
        headers={"Accept": "application/json"},
        **_client_auth(provider, data),
    )
    body = http.json_object(response, what=what) if response.content else {}
    if response.status_code != 200:
        error = str(body.get("error") or f"http_{response.status_code}")
        if error == "invalid_grant" and data.get("grant_type") == "refresh_token":
            raise ReauthenticationRequired(
                "The refresh token was refused: log in again.", code="invalid_grant"
            )
        raise ProviderError(f"The provider refused the {what} ({_safe_code(error)}).", code=_safe_code(error))
    return body


def _safe_code(error: str) -> str:
    # The error code goes into a page: keep it to the RFC 6749 A.7 character set, short.
    return "".join(c for c in error if c.isalnum() or c in "_-.")[:64] or "error"


@sensitive_variables()
def exchange_code(
    provider: Provider, token_endpoint: str, *, code: str, redirect_uri: str, code_verifier: str
):
    """RFC 6749 4.1.3 with RFC 7636 4.5: trade the code for tokens."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    if provider.resource_list:
        data["resource"] = provider.issuer  # RFC 8707 2.2: the login's token is the provider's own
    if provider.token_endpoint_auth_method == Provider.AUTH_BASIC:
        data["client_id"] = provider.client_id
    return TokenResponse.parse(_post_token(provider, token_endpoint, data, what="code exchange"))


@sensitive_variables()
def refresh(
    provider: Provider, token_endpoint: str, *, refresh_token: str, scope: str = "", resource: str = ""
) -> TokenResponse:
    """RFC 6749 6: new tokens for a refresh token; RFC 8707 2.2: an access token for ``resource``
    (for a provider with ``resources``, by default the provider's own audience, its issuer)."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope:
        data["scope"] = scope
    resource = resource or (provider.issuer if provider.resource_list else "")
    if resource:
        data["resource"] = resource
    return TokenResponse.parse(_post_token(provider, token_endpoint, data, what="token refresh"))


@sensitive_variables()
def revoke(provider: Provider, revocation_endpoint: str, *, token: str, token_type_hint: str) -> None:
    """RFC 7009 2.1. RFC 7009 2.2: 200 also for unknown tokens; other answers raise ProviderError."""
    data = {"token": token, "token_type_hint": token_type_hint}
    response = http.call("POST", revocation_endpoint, what="token revocation", **_client_auth(provider, data))
    if response.status_code != 200:
        raise ProviderError("The provider refused to revoke a token.", code=f"http_{response.status_code}")
