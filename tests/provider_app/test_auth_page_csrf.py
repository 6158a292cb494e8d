"""P10 + P11: authentication pages send Referrer-Policy: no-referrer, so browsers POST their forms
with ``Origin: null``; CSRF protection must still hold while a real browser can sign in."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import USER_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/account/login/"


def _login_post(user, **headers):
    client = Client(enforce_csrf_checks=True)
    page = client.get(LOGIN_URL)
    assert page["Referrer-Policy"] == "no-referrer"
    token = page.cookies["csrftoken"].value
    data = {"username": user.username, "password": USER_PASSWORD, "csrfmiddlewaretoken": token}
    return client.post(LOGIN_URL, data, **headers)


def test_p10_login_post_with_null_origin_from_the_same_origin_is_accepted(user):
    response = _login_post(user, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 302


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "none", None])
def test_p11_null_origin_from_elsewhere_is_refused(user, fetch_site):
    headers = {"HTTP_ORIGIN": "null"}
    if fetch_site is not None:
        headers["HTTP_SEC_FETCH_SITE"] = fetch_site
    assert _login_post(user, **headers).status_code == 403


def test_p11_foreign_origin_is_refused(user):
    response = _login_post(user, HTTP_ORIGIN="https://evil.example", HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 403


def test_p11_null_origin_without_the_csrf_token_is_refused(user):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN_URL)
    response = client.post(
        LOGIN_URL,
        {"username": user.username, "password": USER_PASSWORD},
        HTTP_ORIGIN="null",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 403
