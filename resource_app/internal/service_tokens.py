"""Tokens this service asks the provider for, to call other services (:mod:`resource_app.calls`):
an RFC 8693 token exchange for "the user of this request", client_credentials for "this service
itself", both with ``resource`` naming the target (RFC 8707). Each token is kept in the process
until shortly before it expires, under a digest of what it was asked with (never the subject token
itself), so repeated calls for the same user and target cost no request to the provider."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict

from django.views.decorators.debug import sensitive_variables

from resource_app.app_settings import app_settings
from resource_app.exceptions import ProviderUnavailable, TokenRequestFailed, TokenRequestRefused
from resource_app.internal import http, metadata
from resource_app.internal.requests_tokens import _B64TOKEN, MAX_TOKEN_LENGTH

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
MAX_LIFETIME = 24 * 3600
_ERROR_CODE_LENGTH = 64


class KeptTokens:
    """A bounded, thread-safe map of digest -> (token, replace after), least recently used out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, key: str) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
            if found is None:
                return None
            if found[1] <= time.time():
                del self._tokens[key]
                return None
            self._tokens.move_to_end(key)
            return found[0]

    def put(self, key: str, token: str, replace_after: float) -> None:
        size = app_settings.CALL_TOKEN_CACHE_SIZE
        with self._lock:
            self._tokens[key] = (token, replace_after)
            self._tokens.move_to_end(key)
            while len(self._tokens) > max(size, 0):
                self._tokens.popitem(last=False)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def forget(self) -> None:
        with self._lock:
            self._tokens.clear()


kept = KeptTokens()


@sensitive_variables("subject_token", "data")
def exchanged_token(subject_token: str, audience: str, scope: str | None, *, not_after: float) -> str:
    """An access token for ``audience`` acting for the subject of ``subject_token`` (RFC 8693 2.1)."""
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "requested_token_type": ACCESS_TOKEN_TYPE,
        "resource": audience,
    }
    return _token("exchange", data, audience, scope, subject_token, not_after=not_after)


def service_token(audience: str, scope: str | None) -> str:
    """An access token for ``audience`` for this service itself (client_credentials, RFC 6749 4.4)."""
    return _token(
        "client_credentials", {"grant_type": "client_credentials", "resource": audience}, audience, scope
    )


@sensitive_variables("subject_token", "data")
def _token(
    kind: str, data: dict, audience: str, scope: str | None, subject_token: str = "", *, not_after: float = 0
) -> str:
    parts = [app_settings.ISSUER, app_settings.CLIENT_ID, kind, audience, scope or "", subject_token]
    key = hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()  # no two requests share a key
    token = kept.get(key)
    if token is not None:
        return token
    if scope:
        data["scope"] = scope
    token, lifetime = _ask(data, exchange=kind == "exchange")
    if lifetime:
        margin = min(app_settings.CALL_TOKEN_MARGIN, lifetime / 2)
        replace_after = time.time() + lifetime - margin
        # Never kept past the subject token: the caller's own token no longer valid, nothing acts for it.
        kept.put(key, token, min(replace_after, not_after) if not_after else replace_after)
    return token


@sensitive_variables("data")
def _ask(data: dict, *, exchange: bool) -> tuple[str, int]:
    """The issued token and its lifetime in seconds (0: unknown, not kept)."""
    try:
        url = app_settings.TOKEN_ENDPOINT or metadata.endpoint("token_endpoint")
        answer = http.call("POST", url, data=data, auth=(app_settings.CLIENT_ID, app_settings.CLIENT_SECRET))
    except ProviderUnavailable as error:
        raise TokenRequestFailed(error.description) from None
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 200:
        error = body.get("error")
        if answer.status in (400, 401) and isinstance(error, str) and 0 < len(error) <= _ERROR_CODE_LENGTH:
            description = body.get("error_description")
            raise TokenRequestRefused(error, description[:200] if isinstance(description, str) else "")
        raise TokenRequestFailed(f"The provider's token endpoint answered HTTP {answer.status}.")
    token = body.get("access_token")
    # The token goes into an Authorization header: RFC 6750 2.1's b64token, nothing else.
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not _B64TOKEN.fullmatch(token):
        raise TokenRequestFailed("The provider's token answer has no usable access_token.")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise TokenRequestFailed("The provider issued a token that is not a bearer token.")
    if exchange and body.get("issued_token_type") != ACCESS_TOKEN_TYPE:  # RFC 8693 2.2.1
        raise TokenRequestFailed("The provider's exchange did not issue an access token.")
    lifetime = body.get("expires_in")
    if type(lifetime) is not int or lifetime <= 0:
        lifetime = 0
    return token, min(lifetime, MAX_LIFETIME)
