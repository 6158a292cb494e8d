"""C13: where client_app may send a request. Every endpoint it calls, from discovery or from the
admin, is https and resolves only to public addresses; the browser endpoints it redirects to are
https. Loopback (http or https) is allowed in DEBUG or with ``CLIENT_APP_ALLOW_LOOPBACK_ENDPOINTS``
(a provider on the same machine, tests); private and link-local networks only with
``CLIENT_APP_ALLOW_PRIVATE_ENDPOINTS`` (a provider inside the company network)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from client_app.app_settings import app_settings
from client_app.exceptions import ConfigurationError, ProviderError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def check_browser_endpoint(url: str, *, what: str) -> None:
    """An endpoint the browser is sent to (authorization, end-session): https."""
    _check_scheme(url, what=what)


def check_server_endpoint(url: str, *, what: str) -> None:
    """An endpoint this server calls: https, and every address the host resolves to is public."""
    host, port = _check_scheme(url, what=what)
    for address in resolve(host, port):
        if address.is_loopback:
            allowed = _loopback_allowed()
        else:
            allowed = address.is_global or app_settings.ALLOW_PRIVATE_ENDPOINTS
        if not allowed:
            raise ConfigurationError(
                f"The provider's {what} endpoint points to a private or local address.",
                code="private_endpoint",
            )


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` resolves to (an IP literal is its own address)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ProviderError(f"The provider could not be reached ({host}).", code="network_error")
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _check_scheme(url: str, *, what: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = None
    if not host:
        raise ConfigurationError(f"The provider's {what} endpoint is not a URL.", code="insecure_endpoint")
    if parts.scheme == "https":
        return host, port or 443
    if parts.scheme == "http" and _is_loopback_host(host) and _loopback_allowed():
        return host, port or 80
    raise ConfigurationError(f"The provider's {what} endpoint is not https.", code="insecure_endpoint")


def _loopback_allowed() -> bool:
    return bool(settings.DEBUG or app_settings.ALLOW_LOOPBACK_ENDPOINTS)


def _is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
