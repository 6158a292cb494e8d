"""Calls to the provider (discovery, keys, introspection): a timeout per read, a total deadline, a
size cap, strict JSON. Any failure is :class:`~resource_app.exceptions.ProviderUnavailable`, whose
message never holds a token or a secret."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.views.decorators.debug import sensitive_variables

from resource_app.app_settings import app_settings
from resource_app.exceptions import ProviderUnavailable

_CHUNK = 16 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON


@sensitive_variables("data", "auth")
def call(method: str, url: str, *, data: dict | None = None, auth: tuple[str, str] | None = None) -> Answer:
    """One request to the provider, read completely within the deadline and the size cap."""
    deadline = time.monotonic() + app_settings.HTTP_DEADLINE
    try:
        with requests.request(
            method,
            url,
            data=data,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=app_settings.HTTP_TIMEOUT,
            stream=True,
            allow_redirects=False,
        ) as response:
            content = _read(response, deadline)
            status, headers = response.status_code, dict(response.headers)
    except requests.RequestException as error:
        raise ProviderUnavailable(f"The provider could not be reached ({type(error).__name__}).") from None
    if status >= 500:
        raise ProviderUnavailable(f"The provider answered HTTP {status}.")
    try:
        body = json.loads(content, parse_constant=_refuse, parse_float=_finite)
    except (ValueError, RecursionError):
        raise ProviderUnavailable("The provider's answer is not JSON.") from None
    return Answer(status, headers, body)


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
        chunk = read(_CHUNK)
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
