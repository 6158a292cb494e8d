"""Every call to a provider goes through here: a requests session with a timeout, a total deadline
and a size cap (C14), JSON checks that no answer can turn into a 500 (C15), and errors that never
carry a token or secret (C8, C9)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from django.views.decorators.debug import sensitive_variables

from client_app.app_settings import app_settings
from client_app.exceptions import ProviderError
from client_app.internal import endpoints
from client_app.internal.deadline import Deadline, mount

logger = logging.getLogger("client_app")


class TimeoutSession(requests.Session):
    """A ``requests.Session`` whose requests always have a timeout (``CLIENT_APP_HTTP_TIMEOUT``)."""

    def __init__(self, timeout: float | tuple[float, float] | None = None) -> None:
        super().__init__()
        mount(self)  # calls inside a Deadline are cut at it, status line and headers included
        self.timeout = timeout if timeout is not None else app_settings.HTTP_TIMEOUT
        self.headers["User-Agent"] = app_settings.USER_AGENT

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        if kwargs["timeout"] is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


def new_session() -> TimeoutSession:
    return TimeoutSession()


@dataclass(frozen=True)
class ProviderAnswer:
    """A provider's answer, read completely within the deadline and the size cap."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """The body as JSON. ``NaN``/``Infinity`` and numbers too large for a float (``1e400``)
        are refused; so is nesting deep enough to exhaust the parser (RecursionError)."""
        return json.loads(self.content, parse_constant=_refuse_constant, parse_float=_finite_float)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


@sensitive_variables()
def call(
    method: str, url: str, *, what: str, session: requests.Session | None = None, **kwargs
) -> ProviderAnswer:
    """Send one request and read the whole answer, within ``CLIENT_APP_HTTP_DEADLINE`` and
    ``CLIENT_APP_HTTP_MAX_RESPONSE_BYTES``; a network failure, a timeout, a missed deadline or an
    oversized answer becomes a :class:`ProviderError` naming ``what``."""
    endpoints.check_server_endpoint(url, what=what)  # C13: https, public addresses only
    session = session or new_session()
    deadline_seconds = app_settings.HTTP_DEADLINE
    deadline = time.monotonic() + deadline_seconds
    kwargs["timeout"] = _capped_timeout(
        kwargs.get("timeout") or getattr(session, "timeout", None), deadline_seconds
    )
    try:
        with Deadline(deadline_seconds) as guard:
            try:
                with session.request(method, url, allow_redirects=False, stream=True, **kwargs) as response:
                    content = _read_capped(response, deadline, what=what, url=url)
                    return ProviderAnswer(response.status_code, response.headers, content)
            except (requests.RequestException, urllib3.exceptions.HTTPError):
                if guard.expired:
                    raise guard.timeout() from None
                raise
    except urllib3.exceptions.HTTPError:  # the body's connection broke
        logger.warning("client_app: %s failed (%s): connection broken", what, _origin(url))
        raise ProviderError(f"The provider could not be reached ({what}).", code="network_error")
    except requests.Timeout:
        logger.warning("client_app: %s timed out (%s)", what, _origin(url))
        raise ProviderError(f"The provider did not answer in time ({what}).", code="timeout")
    except requests.RequestException as error:
        logger.warning("client_app: %s failed (%s): %s", what, _origin(url), type(error).__name__)
        raise ProviderError(f"The provider could not be reached ({what}).", code="network_error")


def _capped_timeout(timeout: Any, deadline_seconds: float) -> tuple[float, float]:
    if timeout is None:
        timeout = app_settings.HTTP_TIMEOUT
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return (min(float(connect), deadline_seconds), min(float(read), deadline_seconds))


def _read_capped(response: requests.Response, deadline: float, *, what: str, url: str) -> bytes:
    """The body, chunk by chunk as it arrives (``read1`` returns whatever the socket has), checking
    the size cap and the total deadline after every chunk: a provider that sends one byte at a
    time is cut at the deadline, one that sends megabytes at the cap."""
    limit = app_settings.HTTP_MAX_RESPONSE_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(what, url)
    body = bytearray()
    while True:
        chunk = response.raw.read1(65536, decode_content=True)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise _too_large(what, url)
        if time.monotonic() > deadline:
            logger.warning("client_app: %s missed the deadline (%s)", what, _origin(url))
            raise ProviderError(f"The provider did not answer in time ({what}).", code="timeout")


def _too_large(what: str, url: str) -> ProviderError:
    logger.warning("client_app: %s answered more than the size cap (%s)", what, _origin(url))
    return ProviderError(f"The provider's answer is too large ({what}).", code="response_too_large")


def json_object(response: ProviderAnswer, *, what: str) -> dict[str, Any]:
    """The response body as a JSON object, or a :class:`ProviderError`."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
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
