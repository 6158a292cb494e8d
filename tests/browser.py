"""A person's browser over real HTTP, without JavaScript: a ``requests`` session that reads a page's
forms (hidden fields and CSRF token included) and submits them, following redirects as told.

Used by the end-to-end tests (``tests/e2e/``), the interoperability tests and the concurrency tests
against a live server; the Django test client has ``tests.oauth_helpers`` instead.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

TIMEOUT = 30


class FormParser(HTMLParser):
    """The forms of a page: action, and the values a browser would submit (checked boxes only);
    submit buttons apart, since a browser sends only the one pressed."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": {}, "buttons": {}})
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            kind = attributes.get("type", "text" if tag == "input" else "submit")
            target = self.forms[-1]["buttons" if kind == "submit" else "fields"]
            if kind != "checkbox" or "checked" in attributes:
                target[attributes["name"]] = attributes.get("value") or ""


def forms_of(html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def submit(
    session: requests.Session,
    page: requests.Response,
    *,
    form_index: int = 0,
    button: str | None = None,
    allow_redirects: bool = True,
    **fields: str,
) -> requests.Response:
    """Submit a form of ``page`` as a browser does: its fields, ``fields`` typed in, the ``button``
    pressed (by name), to the form's action."""
    forms = forms_of(page.text)
    assert forms, f"no form on {page.url}"
    form = forms[form_index]
    data = {**form["fields"], **fields}
    if button:
        data[button] = form["buttons"].get(button, "on") or "on"
    url = urljoin(page.url, form["action"]) if form["action"] else page.url
    return session.post(
        url, data=data, headers={"Referer": page.url}, allow_redirects=allow_redirects, timeout=TIMEOUT
    )


def follow_until(session: requests.Session, url: str, stop_prefix: str) -> requests.Response:
    """GET ``url`` and follow redirects until a page, or a redirect to a URL under ``stop_prefix``."""
    response = session.get(url, allow_redirects=False, timeout=TIMEOUT)
    for _ in range(10):
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303) or location is None:
            return response
        target = urljoin(response.url, location)
        if target.startswith(stop_prefix):
            return response
        response = session.get(target, allow_redirects=False, timeout=TIMEOUT)
    raise AssertionError("too many redirects")
