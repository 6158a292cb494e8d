"""Rules for redirect URIs beyond DOT's exact matching (RFC 9700 2.1, 2.6; RFC 8252 7.3)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_HOSTNAMES = {"localhost"}
# RFC 8252 7.3: only loopback IP literals may vary the port ("localhost" is NOT RECOMMENDED, 8.3).
LOOPBACK_IPS = {"127.0.0.1", "::1"}


def is_loopback_host(hostname: str | None) -> bool:
    """``localhost`` or a loopback IP literal: hosts where plain http never leaves the machine."""
    if not hostname:
        return False
    if hostname.lower() in LOOPBACK_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def is_redirect_uri_transport_allowed(uri: str) -> bool:
    """RFC 9700 2.6: plain ``http`` is only acceptable for loopback redirect URIs."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme == "http":
        return is_loopback_host(hostname)
    # Private-use schemes of native apps (RFC 8252 7.1) have no host to eavesdrop on.
    return bool(parts.scheme) and parts.scheme not in {"javascript", "data", "file", "vbscript"}


def _without_loopback_port(uri: str) -> str | None:
    """``uri`` with the port of its loopback IP host removed, or ``None`` if it is no loopback URI."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme != "http" or hostname not in LOOPBACK_IPS or "@" in parts.netloc:
        return None
    prefix = f"{parts.scheme}://{parts.netloc}"
    if not uri.startswith(prefix):
        return None
    host = parts.netloc.rsplit(":", 1)[0] if parts.netloc.rsplit(":", 1)[-1].isdigit() else parts.netloc
    return f"http://{host}{uri[len(prefix) :]}"


def is_registered_redirect_uri(uri: str, registered_uris: list[str]) -> bool:
    """Simple string comparison with a registered URI (OIDC Core 3.1.2.1, RFC 9700 2.1).

    The one exception is RFC 8252 7.3: a native app's loopback IP redirect URI (``http://127.0.0.1``
    or ``http://[::1]``) may carry any port, everything else still compared character by character.
    """
    if uri in registered_uris:
        return True
    requested = _without_loopback_port(uri)
    if requested is None:
        return False
    return any(requested == _without_loopback_port(registered) for registered in registered_uris)
