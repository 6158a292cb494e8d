"""Calls to the provider (discovery, keys, introspection): a timeout per read, a total deadline, a
size cap, strict JSON. Any failure is :class:`~resource_app.exceptions.ProviderUnavailable`, whose
message never holds a token or a secret."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from django.views.decorators.debug import sensitive_variables

from resource_app.app_settings import app_settings
from resource_app.exceptions import ProviderUnavailable
from resource_app.internal.deadline import Deadline, mount

_CHUNK = 16 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON


@sensitive_variables("data", "auth")
def call(method: str, url: str, *, data: dict | None = None, auth: tuple[str, str] | None = None) -> Answer:
    """One request to the provider, answered completely (status line, headers and body) within the
    deadline and the size cap."""
    with Deadline(app_settings.HTTP_DEADLINE) as deadline, deadline_session() as session:
        try:
            with session.request(
                method,
                url,
                data=data,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=min(app_settings.HTTP_TIMEOUT, app_settings.HTTP_DEADLINE),
                stream=True,
                allow_redirects=False,
            ) as response:
                content = _read(response, deadline.at)
                status, headers = response.status_code, dict(response.headers)
        except requests.RequestException as error:
            if deadline.expired:
                raise ProviderUnavailable("The provider took too long to answer.") from None
            reason = type(error).__name__
            raise ProviderUnavailable(f"The provider could not be reached ({reason}).") from None
    if status >= 500:
        raise ProviderUnavailable(f"The provider answered HTTP {status}.")
    try:
        body = json.loads(content, parse_constant=_refuse, parse_float=_finite)
    except (ValueError, RecursionError):
        raise ProviderUnavailable("The provider's answer is not JSON.") from None
    return Answer(status, headers, body)


def deadline_session() -> requests.Session:
    """A session whose exchanges obey :class:`~resource_app.internal.deadline.Deadline`."""
    return mount(requests.Session())


def _read(response: requests.Response, deadline: float) -> bytes:
    try:
        return read_capped(response, deadline, app_settings.HTTP_MAX_RESPONSE_BYTES)
    except requests.Timeout:
        raise ProviderUnavailable("The provider took too long to answer.") from None
    except ResponseTooLarge:
        raise ProviderUnavailable("The provider's answer is too large.") from None


class ResponseTooLarge(requests.RequestException):
    """An answer larger than the size cap (read no further)."""


def read_capped(response: requests.Response, deadline: float, limit: int) -> bytes:
    """The body, read in pieces of whatever has arrived (``read1``: one receive at most per piece),
    so that a peer sending one byte at a time meets the deadline after one socket timeout;
    ``requests.Timeout`` past the deadline, :class:`ResponseTooLarge` past ``limit`` bytes."""
    raw = response.raw
    raw.decode_content = True
    read = getattr(raw, "read1", None) or raw.read  # urllib3 2 has read1
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise requests.Timeout("The answer took longer than the deadline.")
        try:
            chunk = read(_CHUNK)
        except urllib3.exceptions.HTTPError as error:  # the connection broke (or a deadline cut it)
            raise requests.ConnectionError(str(error)) from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(f"The answer is larger than {limit} bytes.")
        chunks.append(chunk)


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value
