"""C7 (no open redirect through ``next``) and C11 (login start is a POST with CSRF)."""

from __future__ import annotations

import pytest
from django.test import Client

from client_app.models import PendingLogin

pytestmark = pytest.mark.django_db

EVIL_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "https://testserver.evil.example/",
    " //evil.example",
]


@pytest.mark.parametrize("next_url", EVIL_NEXT)
def test_c7_open_redirect_next_is_ignored(flow, next_url):
    response = flow.login(next_url)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_c7_evil_next_stored_in_the_pending_login_is_refused_at_the_end(flow):
    params = flow.start("/safe/")
    PendingLogin.objects.update(next_url="https://evil.example/")
    response = flow.callback(params)
    assert response["Location"] == "/"


@pytest.mark.parametrize("next_url", ["/profile/", "/client/connections/?tab=1", "http://testserver/x/"])
def test_c7_same_site_next_is_kept(flow, next_url):
    assert flow.login(next_url)["Location"] == next_url


def test_c7_login_page_drops_evil_next(client, provider):
    page = client.get("/client/", {"next": "https://evil.example/"}).content.decode()
    assert "evil.example" not in page


def test_c11_get_shows_a_confirmation_page_and_starts_nothing(client, provider, fake_provider):
    response = client.get(f"/client/{provider.slug}/login/", {"next": "/x/"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    assert PendingLogin.objects.count() == 0
    assert len(fake_provider.mock.calls) == 0


def test_c11_post_without_csrf_token_is_refused(provider, fake_provider):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(f"/client/{provider.slug}/login/")
    assert response.status_code == 403
    assert PendingLogin.objects.count() == 0


def test_c11_post_with_csrf_token_starts_the_login(provider, fake_provider):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/client/")
    token = page.cookies["csrftoken"].value
    response = browser.post(f"/client/{provider.slug}/login/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert PendingLogin.objects.count() == 1


def test_c11_logout_needs_post(flow):
    flow.login()
    assert flow.client.get("/client/logout/").status_code == 200
    assert "_auth_user_id" in flow.client.session


def test_disabled_or_unknown_provider_is_404(client, provider):
    provider.enabled = False
    provider.save()
    assert client.post(f"/client/{provider.slug}/login/").status_code == 404
    assert client.post("/client/nope/login/").status_code == 404


def test_client_pages_keep_the_origin_header_for_csrf(client, provider):
    """Under "no-referrer" browsers send "Origin: null" with same-origin POSTs and Django's CSRF
    check refuses them; client_app's pages use "same-origin" (nothing leaks to other origins)."""
    for path in ("/client/", f"/client/{provider.slug}/login/", "/client/logout/"):
        assert client.get(path)["Referrer-Policy"] == "same-origin"


def test_c11_post_with_same_origin_header_passes_csrf(provider, fake_provider):
    browser = Client(enforce_csrf_checks=True)
    token = browser.get("/client/").cookies["csrftoken"].value
    response = browser.post(
        f"/client/{provider.slug}/login/",
        {"csrfmiddlewaretoken": token},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 302


@pytest.mark.parametrize("next_url", ["/a\x00b", "/" + "x" * 3000])
def test_c7_unstorable_next_is_dropped_not_a_500(flow, next_url):
    assert flow.login(next_url)["Location"] == "/"


@pytest.mark.parametrize("param", ["state", "code", "iss", "error", "error_description"])
def test_nul_bytes_and_junk_in_the_callback_never_500(flow, param):
    params = flow.start()
    response = flow.callback(params, **{param: "x\x00" + "y" * 5000})
    assert response.status_code in (302, 400, 502)
