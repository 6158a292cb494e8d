"""The provider's metadata (OIDC Discovery 1.0 4, else RFC 8414 3), fetched once per process and hour.

Used only for what the settings leave empty (``JWKS_URI``, ``INTROSPECTION_ENDPOINT``). The
document's ``issuer`` must be the configured issuer exactly (RFC 8414 3.3).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit, urlunsplit

from resource_app.app_settings import app_settings
from resource_app.exceptions import ProviderUnavailable
from resource_app.internal import http

WELL_KNOWN = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
LIFETIME = 3600

FAILURE_COOLDOWN = 30

_lock = threading.Lock()
_cached: dict[str, tuple[float, dict]] = {}
_failed: dict[str, float] = {}


def endpoint(name: str) -> str:
    """The metadata value ``name`` (a URL) of the configured issuer."""
    issuer = app_settings.ISSUER
    now = time.monotonic()
    with _lock:
        found = _cached.get(issuer)
        if found is None and now - _failed.get(issuer, float("-inf")) < FAILURE_COOLDOWN:
            raise ProviderUnavailable("The provider's metadata is not available yet.")
    if found is None or found[0] < now:
        try:
            document = _fetch(issuer)
        except ProviderUnavailable:
            with _lock:
                _failed[issuer] = now
            if found is None:
                raise
            document = found[1]  # keep what we had; look again after the cooldown
            found = (now + FAILURE_COOLDOWN, document)
        else:
            found = (now + LIFETIME, document)
        with _lock:
            _cached[issuer] = found
    value = found[1].get(name)
    # https, as the issuer (an http issuer is a local development set-up, see resource_app.E001)
    scheme = "http://" if issuer.startswith("http://") else "https://"
    if not isinstance(value, str) or not value.startswith(scheme) and not value.startswith("https://"):
        raise ProviderUnavailable(f"The provider's metadata has no usable {name}.")
    return value


def _fetch(issuer: str) -> dict:
    """OIDC Discovery first, then RFC 8414 (its well-known path after the host, before the issuer's)."""
    parts = urlsplit(issuer)
    candidates = [
        issuer.rstrip("/") + WELL_KNOWN[0],
        urlunsplit(parts._replace(path=WELL_KNOWN[1] + parts.path.rstrip("/"))),
    ]
    for url in candidates:
        try:
            answer = http.call("GET", url)
        except ProviderUnavailable:
            continue
        if answer.status == 200 and isinstance(answer.body, dict):
            if answer.body.get("issuer") != issuer:
                raise ProviderUnavailable("The provider's metadata names another issuer.")
            return answer.body
    raise ProviderUnavailable("The provider publishes no metadata.")


def forget() -> None:
    with _lock:
        _cached.clear()
        _failed.clear()
