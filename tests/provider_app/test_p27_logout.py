"""P27: RP-initiated logout ends only the provider session of the user whose session it is, after
that user confirms; an ``id_token_hint`` alone authorises nothing and never revokes tokens of other
clients (DOT deleted every token of the hint's user at every client, even for an anonymous GET)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import api_me, issue_tokens, post_refresh, rp_logout

pytestmark = pytest.mark.django_db


def _tokens(user, application) -> dict:
    return issue_tokens(Client(), user, application)


def _works(tokens) -> bool:
    return api_me(Client(), tokens["access_token"]).status_code == 200


def _confirm(browser, tokens, application):
    params = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": application.post_logout_redirect_uris,
    }
    _page, response = rp_logout(browser, params)
    assert response.status_code == 302
    assert response["Location"] == application.post_logout_redirect_uris
    return response


@pytest.fixture
def two_clients(user):
    client_a, client_b = ApplicationFactory(), ApplicationFactory()
    return client_a, client_b, _tokens(user, client_a), _tokens(user, client_b)


def test_p27_an_anonymous_request_with_a_hint_revokes_nothing(settings, user, two_clients):
    settings.PROVIDER_APP_LOGOUT_REVOKES_CLIENT_TOKENS = True  # not even with revocation asked for
    _client_a, _client_b, tokens_a, tokens_b = two_clients
    victim = Client()
    victim.force_login(user)
    attacker = Client()
    attacker.get("/o/logout/", {"id_token_hint": tokens_a["id_token"]})
    attacker.post("/o/logout/", {"id_token_hint": tokens_a["id_token"], "allow": "Logout"})
    assert _works(tokens_a) and _works(tokens_b)
    assert victim.session["_auth_user_id"] == str(user.pk)


def test_p27_the_signed_in_user_confirms_before_anything_ends(user, two_clients):
    client_a, _client_b, tokens_a, tokens_b = two_clients
    browser = Client()
    browser.force_login(user)
    response = browser.get("/o/logout/", {"id_token_hint": tokens_a["id_token"]})
    assert response.status_code == 200
    assert response.templates[0].name == "provider_app/logout_confirm.html"
    assert browser.session["_auth_user_id"] == str(user.pk)
    assert _works(tokens_a) and _works(tokens_b)


def test_p27_a_confirmed_logout_ends_the_session_and_revokes_no_token_by_default(user, two_clients):
    client_a, _client_b, tokens_a, tokens_b = two_clients
    browser = Client()
    browser.force_login(user)
    _confirm(browser, tokens_a, client_a)
    assert "_auth_user_id" not in browser.session
    assert _works(tokens_a) and _works(tokens_b)


def test_p27_the_setting_revokes_only_the_tokens_of_the_hints_client(settings, user, two_clients):
    settings.PROVIDER_APP_LOGOUT_REVOKES_CLIENT_TOKENS = True
    client_a, _client_b, tokens_a, tokens_b = two_clients
    browser = Client()
    browser.force_login(user)
    _confirm(browser, tokens_a, client_a)
    assert not _works(tokens_a)
    refresh = post_refresh(Client(), client_a, tokens_a["refresh_token"])
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert _works(tokens_b)


def test_p27_a_hint_of_another_user_revokes_nothing_even_with_the_setting(settings, user, two_clients):
    settings.PROVIDER_APP_LOGOUT_REVOKES_CLIENT_TOKENS = True
    client_a, _client_b, tokens_a, tokens_b = two_clients
    someone_else = Client()
    someone_else.force_login(UserFactory())
    _confirm(someone_else, tokens_a, client_a)
    assert "_auth_user_id" not in someone_else.session  # their own session ended
    assert _works(tokens_a) and _works(tokens_b)
