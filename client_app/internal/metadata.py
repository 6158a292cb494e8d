"""Provider metadata: OpenID discovery and JWKS, cached with a lifetime; hand-entered endpoints win.

OpenID Connect Discovery 1.0 section 4: the document lives at ``<issuer>/.well-known/openid-configuration``
and its ``issuer`` must equal the configured issuer exactly (4.3), or it is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches
from jwcrypto.common import JWException
from jwcrypto.jwk import JWKSet

from client_app.app_settings import app_settings
from client_app.exceptions import ConfigurationError, ProviderError
from client_app.internal import endpoints, http
from client_app.models import Provider

ENDPOINT_FIELDS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
)


@dataclass
class ProviderMetadata:
    """What the flow needs to know about a provider, from discovery and the provider's own fields."""

    issuer: str
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""
    jwks_uri: str = ""
    end_session_endpoint: str = ""
    revocation_endpoint: str = ""
    iss_parameter_supported: bool = False
    document: dict[str, Any] = field(default_factory=dict)

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(
                f"The provider has no {name.replace('_', ' ')}.", code="missing_endpoint"
            )
        return value


def _cache():
    return caches[app_settings.CACHE_ALIAS]


def _key(kind: str, url: str) -> str:
    return f"client_app:{kind}:{hashlib.sha256(url.encode()).hexdigest()}"


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def fetch_discovery(issuer: str, *, refresh: bool = False) -> dict[str, Any]:
    """The discovery document (cached ``CLIENT_APP_METADATA_CACHE_SECONDS``)."""
    url = discovery_url(issuer)
    key = _key("discovery", url)
    document = None if refresh else _cache().get(key)
    if document is None:
        document = http.get_json(url, what="discovery")
        # Discovery 4.3: the issuer in the document must be the one we asked for, character for character.
        if document.get("issuer") != issuer:
            raise ConfigurationError(
                "The provider's discovery document names another issuer.", code="issuer_mismatch"
            )
        _cache().set(key, document, app_settings.METADATA_CACHE_SECONDS)
    return document


def get_metadata(provider: Provider) -> ProviderMetadata:
    document = fetch_discovery(provider.issuer) if provider.use_discovery else {}
    metadata = ProviderMetadata(
        issuer=provider.issuer,
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
        document=document,
    )
    for name in ENDPOINT_FIELDS:
        value = getattr(provider, name) or document.get(name) or ""
        value = value if isinstance(value, str) else ""
        if value:
            # C13: the browser carries the state and PKCE challenge to these; the server calls the
            # others (checked again, with their addresses, on every call in http.call).
            endpoints.check_browser_endpoint(value, what=name.replace("_", " "))
        setattr(metadata, name, value)
    return metadata


def get_jwks(jwks_uri: str, *, refresh: bool = False) -> JWKSet:
    """The provider's signing keys (cached); ``refresh`` re-fetches them (used once on an unknown kid),
    at most once per ``CLIENT_APP_JWKS_REFRESH_COOLDOWN_SECONDS``: tokens with made-up ``kid``s, which
    anyone can post to the back-channel logout receiver, cost the provider one fetch, not one each."""
    key = _key("jwks", jwks_uri)
    if refresh:
        cooldown = app_settings.JWKS_REFRESH_COOLDOWN_SECONDS
        refresh = cooldown <= 0 or _cache().add(_key("jwks-refreshed", jwks_uri), True, cooldown)
    document = None if refresh else _cache().get(key)
    fetched = document is None
    if fetched:
        document = http.get_json(jwks_uri, what="JWKS")
    try:
        jwks = JWKSet.from_json(_dumps(document))
    except (JWException, ValueError, TypeError, KeyError):
        raise ProviderError("The provider's JWKS is malformed.", code="malformed_response")
    if fetched:
        _cache().set(key, document, app_settings.METADATA_CACHE_SECONDS)  # only a usable key set
    return jwks


def forget(provider: Provider) -> None:
    """Drop the cached metadata of ``provider`` (after its configuration changed)."""
    url = discovery_url(provider.issuer)
    document = _cache().get(_key("discovery", url)) or {}
    _cache().delete(_key("discovery", url))
    for jwks_uri in {provider.jwks_uri, document.get("jwks_uri")}:
        if isinstance(jwks_uri, str) and jwks_uri:
            _cache().delete(_key("jwks", jwks_uri))


def _dumps(document: dict[str, Any]) -> str:
    import json

    return json.dumps(document)
