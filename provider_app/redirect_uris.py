"""Rules for redirect URIs beyond DOT's exact matching (RFC 9700 2.1, 2.6; RFC 8252 7.3)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_HOSTNAMES = {"localhost"}


def is_loopback_host(hostname: str | None) -> bool:
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
