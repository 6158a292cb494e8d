"""Send a schemathesis case through Django's test client: in-process, exactly the bytes that
``requests`` would put on the wire (the case is prepared by ``requests`` first)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.test import Client

BASE_URL = "http://testserver"
# Headers Django's test client builds itself from its arguments.
_HOP_HEADERS = {"content-type", "content-length", "host", "connection", "accept-encoding"}


@dataclass
class Answer:
    """The parts of a response the checks read, shaped like a ``requests`` response."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


def send(client: Client, case, headers: dict[str, str] | None = None) -> Answer:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)
    kwargs.pop("verify", None)
    prepared = requests.Request(
        **{key: value for key, value in kwargs.items() if key in _REQUEST_ARGS}
    ).prepare()
    parts = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    extra_headers = {k: v for k, v in prepared.headers.items() if k.lower() not in _HOP_HEADERS}
    response = client.generic(
        prepared.method,
        parts.path,
        data=body,
        content_type=prepared.headers.get("Content-Type", ""),
        QUERY_STRING=parts.query,
        headers=extra_headers,
    )
    return Answer(response.status_code, dict(response.items()), response.content)


_REQUEST_ARGS = {"method", "url", "headers", "files", "data", "params", "auth", "cookies", "hooks", "json"}
