"""P24: a deactivated user (``is_active=False``) gets nothing anywhere: token (pending code),
refresh, UserInfo, introspection (``active: false``), API. Before, only ``/api/me`` refused."""

from __future__ import annotations

import pytest

from tests.oauth_helpers import exchange, introspect, issue_tokens, post_refresh, signed_in_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def deactivated(client, user, application):
    """Tokens and a pending (unredeemed) code of ``user``, who is then deactivated."""
    tokens = issue_tokens(client, user, application)
    pending, code = signed_in_code(client, user, application, logout=True)
    user.is_active = False
    user.save()
    return tokens, pending, code


def _bearer(tokens) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}


def test_p24_userinfo_refuses_a_deactivated_users_token(client, deactivated):
    tokens, _pending, _code = deactivated
    for method in (client.get, client.post):
        response = method("/o/userinfo/", **_bearer(tokens))
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_p24_introspection_says_inactive(client, application, deactivated):
    tokens, _pending, _code = deactivated
    response = introspect(client, application, tokens["access_token"])
    assert response.json() == {"active": False}


def test_p24_the_refresh_grant_mints_nothing(client, application, deactivated):
    tokens, _pending, _code = deactivated
    response = post_refresh(client, application, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_p24_a_pending_code_is_not_redeemable(client, application, deactivated):
    _tokens, pending, code = deactivated
    response = exchange(client, application, pending, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()


def test_p24_the_api_refuses(client, deactivated):
    tokens, _pending, _code = deactivated
    assert client.get("/api/me", **_bearer(tokens)).status_code == 401


def test_p24_everything_works_again_once_reactivated(client, user, application, deactivated):
    # The refusals come from the user's state, not from tokens destroyed on the way.
    tokens, pending, code = deactivated
    user.is_active = True
    user.save()
    assert client.get("/o/userinfo/", **_bearer(tokens)).status_code == 200
    assert exchange(client, application, pending, code).status_code == 200
