"""Every call to a provider goes through here: a requests session with a timeout, JSON checks, and
errors that never carry a token or secret (C8, C9)."""

from __future__ import annotations

import logging
from typing import Any

import requests

from client_app.app_settings import app_settings
from client_app.exceptions import ProviderError

logger = logging.getLogger("client_app")


class TimeoutSession(requests.Session):
    """A ``requests.Session`` whose requests always have a timeout (``CLIENT_APP_HTTP_TIMEOUT``)."""

    def __init__(self, timeout: float | tuple[float, float] | None = None) -> None:
        super().__init__()
        self.timeout = timeout if timeout is not None else app_settings.HTTP_TIMEOUT
        self.headers["User-Agent"] = app_settings.USER_AGENT

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        if kwargs["timeout"] is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


def new_session() -> TimeoutSession:
    return TimeoutSession()


def call(
    method: str, url: str, *, what: str, session: requests.Session | None = None, **kwargs
) -> requests.Response:
    """Send one request; a network failure or timeout becomes a :class:`ProviderError` naming ``what``."""
    session = session or new_session()
    try:
        return session.request(method, url, allow_redirects=False, **kwargs)
    except requests.Timeout:
        logger.warning("client_app: %s timed out (%s)", what, _origin(url))
        raise ProviderError(f"The provider did not answer in time ({what}).", code="timeout")
    except requests.RequestException as error:
        logger.warning("client_app: %s failed (%s): %s", what, _origin(url), type(error).__name__)
        raise ProviderError(f"The provider could not be reached ({what}).", code="network_error")


def json_object(response: requests.Response, *, what: str) -> dict[str, Any]:
    """The response body as a JSON object, or a :class:`ProviderError`."""
    try:
        body = response.json()
    except ValueError:
        raise ProviderError(f"The provider sent malformed JSON ({what}).", code="malformed_response")
    if not isinstance(body, dict):
        raise ProviderError(f"The provider sent an unexpected answer ({what}).", code="malformed_response")
    return body


def get_json(url: str, *, what: str, **kwargs) -> dict[str, Any]:
    response = call("GET", url, what=what, **kwargs)
    if response.status_code != 200:
        raise ProviderError(f"The provider answered HTTP {response.status_code} ({what}).", code="http_error")
    return json_object(response, what=what)


def _origin(url: str) -> str:
    """Scheme and host only: query strings may hold codes or hints that must not reach the logs."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
