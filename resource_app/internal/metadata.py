"""The provider's metadata (OIDC Discovery 1.0 4, else RFC 8414 3), fetched once per process and hour.

Used only for what the settings leave empty (``JWKS_URI``, ``INTROSPECTION_ENDPOINT``). The
document's ``issuer`` must be the configured issuer exactly (RFC 8414 3.3).
"""

from __future__ import annotations

import threading
import time

from resource_app.app_settings import app_settings
from resource_app.exceptions import ProviderUnavailable
from resource_app.internal import http

WELL_KNOWN = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
LIFETIME = 3600

_lock = threading.Lock()
_cached: dict[str, tuple[float, dict]] = {}


def endpoint(name: str) -> str:
    """The metadata value ``name`` (a URL) of the configured issuer."""
    issuer = app_settings.ISSUER
    with _lock:
        found = _cached.get(issuer)
    if found is None or found[0] < time.monotonic():
        document = _fetch(issuer)
        found = (time.monotonic() + LIFETIME, document)
        with _lock:
            _cached[issuer] = found
    value = found[1].get(name)
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ProviderUnavailable(f"The provider's metadata has no usable {name}.")
    return value


def _fetch(issuer: str) -> dict:
    for suffix in WELL_KNOWN:
        answer = http.call("GET", issuer.rstrip("/") + suffix)
        if answer.status == 200 and isinstance(answer.body, dict):
            if answer.body.get("issuer") != issuer:
                raise ProviderUnavailable("The provider's metadata names another issuer.")
            return answer.body
    raise ProviderUnavailable("The provider publishes no metadata.")


def forget() -> None:
    with _lock:
        _cached.clear()
