"""A user's browser for the interoperability tests (``tests.browser``): it signs in on the provider's
login page and approves the consent form, exactly as a person would."""

from __future__ import annotations

from urllib.parse import urljoin

import requests

from tests.browser import follow_until, submit

TIMEOUT = 10


def sign_in_and_approve(authorization_url: str, redirect_uri: str, username: str, password: str) -> str:
    """Drive a fresh browser through login and consent; returns the URL the provider sends it to."""
    browser = requests.Session()
    login_page = follow_until(browser, authorization_url, redirect_uri)
    assert login_page.status_code == 200 and 'name="password"' in login_page.text, login_page.url
    after_login = submit(browser, login_page, allow_redirects=False, username=username, password=password)
    assert after_login.status_code == 302, after_login.text[:500]
    consent_page = follow_until(
        browser, urljoin(after_login.url, after_login.headers["Location"]), redirect_uri
    )
    assert consent_page.status_code == 200 and "authorizationForm" in consent_page.text, consent_page.text[
        :500
    ]
    approved = submit(browser, consent_page, allow_redirects=False, button="allow")
    assert approved.status_code == 302, approved.text[:500]
    callback = approved.headers["Location"]
    assert callback.startswith(redirect_uri + "?"), callback
    return callback
