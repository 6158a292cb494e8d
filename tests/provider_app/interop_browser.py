"""A user's browser for the interoperability tests: a ``requests`` session with cookies that signs in
on the provider's login page and approves the consent form, exactly as a person would."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

TIMEOUT = 10


class _FormParser(HTMLParser):
    """Collects the inputs (and the submit button named ``allow``) of the first POST form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and not self._done and attributes.get("method", "").lower() == "post":
            self._in_form = True
            self.action = attributes.get("action") or ""
        elif self._in_form and tag == "input" and attributes.get("name"):
            if attributes.get("type") not in ("submit", "button"):
                self.fields[attributes["name"]] = attributes.get("value") or ""
        elif self._in_form and tag == "button" and attributes.get("name") == "allow":
            self.fields["allow"] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


def post_form(browser: requests.Session, page: requests.Response, **values: str) -> requests.Response:
    """Submit the page's POST form with its hidden fields (CSRF token included) plus ``values``."""
    parser = _FormParser()
    parser.feed(page.text)
    assert parser.action is not None, f"no POST form on {page.url}"
    url = urljoin(page.url, parser.action)
    return browser.post(url, data={**parser.fields, **values}, allow_redirects=False, timeout=TIMEOUT)


def follow_until_client(browser: requests.Session, url: str, redirect_uri: str) -> requests.Response:
    """GET ``url`` and follow the provider's redirects until one leaves for the client."""
    response = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    for _ in range(10):
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303) or location is None:
            return response
        target = urljoin(response.url, location)
        if target.startswith(redirect_uri):
            return response
        response = browser.get(target, allow_redirects=False, timeout=TIMEOUT)
    raise AssertionError("too many redirects")


def sign_in_and_approve(authorization_url: str, redirect_uri: str, username: str, password: str) -> str:
    """Drive a fresh browser through login and consent; returns the URL the provider sends it to."""
    browser = requests.Session()
    login_page = follow_until_client(browser, authorization_url, redirect_uri)
    assert login_page.status_code == 200 and 'name="password"' in login_page.text, login_page.url
    after_login = post_form(browser, login_page, username=username, password=password)
    assert after_login.status_code == 302, after_login.text[:500]
    consent_page = follow_until_client(
        browser, urljoin(after_login.url, after_login.headers["Location"]), redirect_uri
    )
    assert consent_page.status_code == 200 and "authorizationForm" in consent_page.text, consent_page.text[
        :500
    ]
    approved = post_form(browser, consent_page, allow="Authorize")
    assert approved.status_code == 302, approved.text[:500]
    callback = approved.headers["Location"]
    assert callback.startswith(redirect_uri + "?"), callback
    return callback
