"""The consent page (remembered per user, client and scopes; skipped for first-party clients) and
RP-initiated logout."""

from __future__ import annotations

import pytest

from provider_app.models import Consent
from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import (
    AuthorizationRequest,
    api_me,
    authorize,
    exchange,
    get_code,
    issue_tokens,
    query_of,
    rp_logout,
)

pytestmark = pytest.mark.django_db


def _start(client, application, scope="openid profile"):
    request = AuthorizationRequest(application.client_id, application.redirect_uris, scope=scope)
    return request, client.get("/o/authorize/", request.params())


def test_consent_page_names_the_client_and_explains_each_scope(client, user, application):
    client.force_login(user)
    _request, response = _start(client, application, scope="openid profile email")
    assert response.status_code == 200
    html = response.content.decode()
    assert application.name in html
    assert "See your e-mail address" in html
    assert "See your name and username" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert response.templates[0].name == "provider_app/consent.html"


def test_consent_is_remembered_and_the_second_authorization_skips_the_page(client, user, application):
    client.force_login(user)
    get_code(
        client, AuthorizationRequest(application.client_id, application.redirect_uris, scope="openid profile")
    )
    assert Consent.objects.get(user=user, application=application).scope == "openid profile"
    request, response = _start(client, application, scope="openid profile")
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params["state"] == request.state
    token = exchange(client, application, request, params["code"])
    assert token.status_code == 200, token.content


def test_remembered_consent_covers_a_subset_of_scopes(client, user, application):
    client.force_login(user)
    get_code(
        client, AuthorizationRequest(application.client_id, application.redirect_uris, scope="openid profile")
    )
    _request, response = _start(client, application, scope="openid")
    assert response.status_code == 302


def test_prompt_consent_shows_the_page_despite_a_remembered_approval(client, user, application):
    client.force_login(user)
    get_code(
        client, AuthorizationRequest(application.client_id, application.redirect_uris, scope="openid profile")
    )
    request = AuthorizationRequest(
        application.client_id, application.redirect_uris, scope="openid profile", extra={"prompt": "consent"}
    )
    response = client.get("/o/authorize/", request.params())
    assert response.status_code == 200
    assert response.templates[0].name == "provider_app/consent.html"
    assert "form" in response.context


def test_new_scopes_ask_again(client, user, application):
    client.force_login(user)
    get_code(client, AuthorizationRequest(application.client_id, application.redirect_uris, scope="openid"))
    _request, response = _start(client, application, scope="openid email")
    assert response.status_code == 200
    assert "See your e-mail address" in response.content.decode()
    get_code(
        client, AuthorizationRequest(application.client_id, application.redirect_uris, scope="openid email")
    )
    assert Consent.objects.get(user=user, application=application).scope == "email openid"


def test_consent_is_per_user(client, user, application):
    client.force_login(user)
    get_code(client, AuthorizationRequest(application.client_id, application.redirect_uris))
    client.force_login(UserFactory())
    _request, response = _start(client, application)
    assert response.status_code == 200


def test_consent_is_per_client(client, user, application):
    client.force_login(user)
    get_code(client, AuthorizationRequest(application.client_id, application.redirect_uris))
    _request, response = _start(client, ApplicationFactory())
    assert response.status_code == 200


def test_denied_consent_is_not_remembered(client, user, application):
    client.force_login(user)
    request = AuthorizationRequest(application.client_id, application.redirect_uris)
    response = authorize(client, request, allow=False)
    assert query_of(response["Location"])["error"] == "access_denied"
    assert not Consent.objects.exists()
    assert _start(client, application)[1].status_code == 200


def test_remembered_consent_still_checks_the_request(client, user, application):
    client.force_login(user)
    get_code(client, AuthorizationRequest(application.client_id, application.redirect_uris))
    request = AuthorizationRequest(
        application.client_id, application.redirect_uris, extra={"code_challenge": None}
    )
    response = client.get("/o/authorize/", request.params())
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_first_party_client_skips_consent(client, user):
    first_party = ApplicationFactory(skip_authorization=True)
    client.force_login(user)
    request, response = _start(client, first_party)
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert exchange(client, first_party, request, params["code"]).status_code == 200
    assert not Consent.objects.exists()


def test_consent_by_get_never_grants(client, user, application):
    client.force_login(user)
    request = AuthorizationRequest(
        application.client_id, application.redirect_uris, extra={"allow": "Authorize"}
    )
    response = client.get("/o/authorize/", request.params())
    assert response.status_code == 200
    assert not Consent.objects.exists()


def test_anonymous_user_is_sent_to_the_login_page(client, application):
    _request, response = _start(client, application)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=")


# RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) -------------------------------------


def test_rp_initiated_logout_asks_then_signs_out_and_redirects(client, user, application):
    tokens = issue_tokens(client, user, application)
    params = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": application.post_logout_redirect_uris,
        "state": "xyz",
    }
    confirm, response = rp_logout(client, params)
    assert confirm.templates[0].name == "provider_app/logout_confirm.html"
    assert confirm["X-Frame-Options"] == "DENY"
    assert response.status_code == 302
    assert response["Location"] == application.post_logout_redirect_uris + "?state=xyz"
    assert "_auth_user_id" not in client.session
    # P27: logout ends the provider session; it revokes no token unless a setting asks for it.
    me = api_me(client, tokens["access_token"])
    assert me.status_code == 200


def test_rp_initiated_logout_cancelled_keeps_the_session(client, user, application):
    tokens = issue_tokens(client, user, application)
    rp_logout(client, {"id_token_hint": tokens["id_token"]}, allow=False)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_rp_initiated_logout_by_get_never_signs_out(client, user, application):
    tokens = issue_tokens(client, user, application)
    client.get("/o/logout/", {"id_token_hint": tokens["id_token"], "allow": "Logout"})
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    "post_logout_redirect_uri",
    [
        "https://evil.example/logged-out",
        "https://client.example.com/logged-out?x=1",
        "https://client.example.com/logged-out#x",
        "https://CLIENT.example.com/logged-out",
        "http://client.example.com/logged-out",
    ],
)
def test_rp_initiated_logout_refuses_unregistered_redirect_uris(
    client, user, application, post_logout_redirect_uri
):
    tokens = issue_tokens(client, user, application)
    response = client.get(
        "/o/logout/",
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": post_logout_redirect_uri},
    )
    assert response.status_code == 400
    assert "Location" not in response
    assert b"cannot be completed" in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "no-such-client"},
        {"client_id": "no-such-client", "post_logout_redirect_uri": "https://client.example.com/logged-out"},
        {"id_token_hint": "not-a-jwt"},
        {"id_token_hint": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."},
        {"post_logout_redirect_uri": "https://client.example.com/logged-out"},
    ],
)
def test_rp_initiated_logout_bad_requests_get_an_error_page_not_a_500(client, user, params):
    client.force_login(user)
    response = client.get("/o/logout/", params)
    assert response.status_code == 400
    assert "Location" not in response


def test_rp_initiated_logout_with_another_clients_id_token_is_refused(client, user, application):
    tokens = issue_tokens(client, user, application)
    other = ApplicationFactory()
    response = client.get("/o/logout/", {"id_token_hint": tokens["id_token"], "client_id": other.client_id})
    assert response.status_code == 400


def test_pages_are_provider_app_templates_and_load_nothing_from_elsewhere(client, user, application):
    """Login, consent and logout pages extend provider_app/base.html and work offline (no CDN)."""
    import re

    pages = {"login": client.get("/account/login/")}
    client.force_login(user)
    pages["consent"] = _start(client, application)[1]
    pages["logout"] = client.get("/o/logout/")
    for name, response in pages.items():
        assert response.status_code == 200, name
        templates = [template.name for template in response.templates]
        assert "provider_app/base.html" in templates, (name, templates)
        html = response.content.decode()
        external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html)
        assert external == [], (name, external)
        assert "/static/provider_app/provider.css" in html
