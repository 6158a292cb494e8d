"""Building the authorization request (RFC 6749 4.1.1, RFC 7636, OIDC Core 3.1.2.1).

Each login gets a fresh random ``state``, ``nonce`` and S256 PKCE verifier, kept server-side in a
:class:`~client_app.models.PendingLogin` bound to the browser session, so parallel tabs each have
their own and nothing secret rides in the browser (C1, C2, C3).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.utils import timezone

from client_app.app_settings import app_settings
from client_app.internal.metadata import get_metadata
from client_app.models import PendingLogin, Provider, hash_value

# Parameters the flow sets itself: extra_authorization_params can never override them.
RESERVED_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "resource",
    }
)


def new_code_verifier() -> str:
    """RFC 7636 4.1: 43-128 characters of [A-Za-z0-9-._~]; 64 random bytes give 86."""
    return secrets.token_urlsafe(64)


def code_challenge_s256(code_verifier: str) -> str:
    """RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start(
    provider: Provider,
    *,
    redirect_uri: str,
    session_binding: str,
    next_url: str = "",
    action: str = PendingLogin.ACTION_LOGIN,
    user=None,
) -> str:
    """Store a pending login and return the URL of the authorization request to redirect to."""
    metadata = get_metadata(provider)
    endpoint = metadata.require("authorization_endpoint")
    purge_expired()
    state = secrets.token_urlsafe(32)
    pending = PendingLogin.objects.create(
        provider=provider,
        state_hash=hash_value(state),
        session_binding_hash=hash_value(session_binding),
        nonce=secrets.token_urlsafe(32),
        code_verifier=new_code_verifier(),
        redirect_uri=redirect_uri,
        next_url=next_url,
        action=action,
        user=user if action == PendingLogin.ACTION_CONNECT else None,
        expires_at=timezone.now() + timedelta(seconds=app_settings.PENDING_LOGIN_SECONDS),
    )
    extra = (
        provider.extra_authorization_params if isinstance(provider.extra_authorization_params, dict) else {}
    )
    params = {str(k): str(v) for k, v in extra.items() if k not in RESERVED_PARAMS}
    params.update(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": provider.scopes,
            "state": state,
            "code_challenge": code_challenge_s256(pending.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    if provider.is_openid:
        params["nonce"] = pending.nonce
    if provider.resource_list:
        # RFC 8707 2.1: the services the site calls with the user's tokens, and the provider itself
        # (RFC 9068 3: its issuer names its own audience), whose token the login keeps for UserInfo.
        params["resource"] = [provider.issuer, *provider.resource_list]
    return _with_query(endpoint, params)


def _with_query(endpoint: str, params: dict[str, str | list[str]]) -> str:
    # The endpoint may carry its own query (OIDC Core 3.1.2.1 allows it): keep it.
    parts = urlsplit(endpoint)
    query = "&".join(filter(None, [parts.query, urlencode(params, doseq=True)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def purge_expired() -> int:
    """Delete pending logins whose time is up; returns how many."""
    deleted, _ = PendingLogin.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
