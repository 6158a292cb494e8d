"""P10 (headers, no third-party loads), P11 (consent only by POST with CSRF, by the requesting user)
and P12 (302/303 after credentials, never 307) on every page where a user authenticates or decides."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import get_grant_model

from tests.factories import USER_PASSWORD, UserFactory
from tests.oauth_helpers import AuthorizationRequest, consent_form, query_of
from tests.provider_app.two_factor_helpers import code_at, make_device, password_step, second_factor_step

pytestmark = pytest.mark.django_db

HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def assert_auth_page(response) -> None:
    for name, value in HEADERS.items():
        assert response[name] == value, name
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    html = response.content.decode()
    # Nothing loaded from another origin: every src/href/action is relative or on this host.
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        parts = urlsplit(url)
        assert not parts.netloc or parts.netloc == "testserver", url
        assert not url.startswith("//"), url


def _consent_page(client, user, application):
    client.force_login(user)
    request = AuthorizationRequest(application.client_id, application.redirect_uris)
    response = client.get("/o/authorize/", request.params())
    assert response.status_code == 200
    return request, response


def test_p10_login_page(client):
    assert_auth_page(client.get("/account/login/"))


def test_p10_login_page_after_a_failure_and_when_locked(client, user):
    failed = client.post("/account/login/", {"username": user.username, "password": "nope"})
    assert_auth_page(failed)
    for _ in range(5):
        client.post("/account/login/", {"username": user.username, "password": "nope"})
    locked = client.post("/account/login/", {"username": user.username, "password": USER_PASSWORD})
    assert locked.status_code == 429
    assert_auth_page(locked)


def test_p10_consent_page_and_authorization_error_page(client, user, application):
    _request, response = _consent_page(client, user, application)
    assert_auth_page(response)
    error = client.get("/o/authorize/", {"client_id": "unknown", "response_type": "code"})
    assert error.status_code in (200, 400)
    assert_auth_page(error)


def test_p10_two_factor_pages(client, user):
    device = make_device(user)
    response = password_step(client, user)
    assert response.status_code == 302
    assert_auth_page(client.get(response["Location"]))
    assert_auth_page(second_factor_step(client, "000000"))
    second_factor_step(client, code_at(device))
    for url in ("/account/two-factor/", "/account/two-factor/setup/", "/account/connected-apps/"):
        assert_auth_page(client.get(url))


def test_p11_get_never_grants_even_with_allow_in_the_query(client, user, application):
    request, response = _consent_page(client, user, application)
    params = {**request.params(), "allow": "Authorize"}
    again = client.get("/o/authorize/", params)
    assert again.status_code == 200  # the consent page again, no redirect with a code
    assert not get_grant_model().objects.exists()


def test_p11_consent_post_without_csrf_token_is_refused(user, application):
    client = Client(enforce_csrf_checks=True)
    _request, response = _consent_page(client, user, application)
    data = {**consent_form(response), "allow": "Authorize"}
    assert client.post("/o/authorize/", data).status_code == 403
    assert not get_grant_model().objects.exists()
    csrf = response.context["csrf_token"]
    granted = client.post("/o/authorize/", {**data, "csrfmiddlewaretoken": str(csrf)})
    assert granted.status_code == 302 and "code" in query_of(granted["Location"])


def test_p11_consent_counts_only_for_the_user_who_posts_it(client, user, application):
    _request, response = _consent_page(client, user, application)
    data = {**consent_form(response), "allow": "Authorize"}
    anonymous = Client()
    refused = anonymous.post("/o/authorize/", data)
    assert refused.status_code == 302 and refused["Location"].startswith("/account/login/")
    assert not get_grant_model().objects.exists()
    # The same form posted by another signed-in user grants nothing to the first one.
    other = UserFactory()
    other_client = Client()
    other_client.force_login(other)
    other_client.post("/o/authorize/", data)
    assert not get_grant_model().objects.filter(user=user).exists()


def test_p12_redirects_after_credentials_are_302_or_303(client, user, application):
    request = AuthorizationRequest(application.client_id, application.redirect_uris)
    start = client.get("/o/authorize/", request.params())
    assert start.status_code == 302
    authorize_url = query_of(start["Location"])["next"]
    login = password_step(client, user, authorize_url)
    assert login.status_code in (302, 303)
    consent = client.get(login["Location"])
    allow = client.post("/o/authorize/", {**consent_form(consent), "allow": "Authorize"})
    assert allow.status_code in (302, 303)
    assert "code" in query_of(allow["Location"])
    device_user = UserFactory()
    device = make_device(device_user)
    two_factor_client = Client()
    assert password_step(two_factor_client, device_user).status_code in (302, 303)
    verified = second_factor_step(two_factor_client, code_at(device))
    assert verified.status_code in (302, 303)
    revoke = client.post("/account/connected-apps/", {"application": application.pk})
    assert revoke.status_code in (302, 303)
