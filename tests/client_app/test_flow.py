"""The happy path against the fake provider: login, user creation, tokens stored, redirect."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from client_app.models import PendingLogin, SocialAccount, TokenSet
from client_app.signals import login_completed, login_failed
from tests.client_app.conftest import error_code

pytestmark = pytest.mark.django_db


def test_login_creates_user_links_account_and_stores_tokens(flow, client):
    completed = []
    login_completed.connect(lambda **kw: completed.append(kw), weak=False, dispatch_uid="t1")
    try:
        response = flow.login("/somewhere/")
    finally:
        login_completed.disconnect(dispatch_uid="t1")
    assert response.status_code == 302, error_code(response)
    assert response["Location"] == "/somewhere/"
    account = SocialAccount.objects.get()
    assert (account.issuer, account.sub) == (flow.provider.issuer, "user-123")
    assert account.user.username == "ada"
    assert account.user.email == "ada@example.com"
    assert not account.user.has_usable_password()
    assert int(client.session["_auth_user_id"]) == account.user.pk
    token_set = TokenSet.objects.get(user=account.user)
    assert token_set.access_token.startswith("access-1-")
    assert token_set.refresh_token.startswith("refresh-1-")
    assert PendingLogin.objects.count() == 0
    assert completed and completed[0]["created"] is True and completed[0]["user"] == account.user


def test_second_login_reuses_the_link(flow):
    flow.login()
    flow.client.logout()
    response = flow.login()
    assert response.status_code == 302
    assert get_user_model().objects.count() == 1
    assert SocialAccount.objects.count() == 1


def test_login_failed_signal_on_error(flow):
    failed = []
    login_failed.connect(lambda **kw: failed.append(kw), weak=False, dispatch_uid="t2")
    try:
        response = flow.callback(flow.start(), error="access_denied", code=None)
    finally:
        login_failed.disconnect(dispatch_uid="t2")
    assert response.status_code == 400
    assert failed and failed[0]["error"].code == "access_denied"


def test_login_page_lists_enabled_providers_with_post_buttons(client, provider):
    from client_app.models import Provider

    Provider.objects.create(
        name="Hidden", slug="hidden", issuer="https://h.example", client_id="x", enabled=False
    )
    page = client.get("/client/").content.decode()
    assert 'method="post" action="/client/example/login/"' in page
    assert "Log in with Example OP" in page
    assert "Hidden" not in page


def test_plain_oauth2_provider_without_discovery(client, fake_provider, db):
    """A provider without OpenID Connect: endpoints by hand, identity from UserInfo."""
    from client_app.models import Provider
    from tests.client_app.conftest import Flow

    plain = Provider.objects.create(
        name="Plain",
        slug="plain",
        issuer=fake_provider.issuer,
        use_discovery=False,
        authorization_endpoint=f"{fake_provider.issuer}/authorize",
        token_endpoint=f"{fake_provider.issuer}/token",
        userinfo_endpoint=f"{fake_provider.issuer}/userinfo",
        client_id="plain",
        client_secret="s" * 40,
        scopes="profile",
        subject_claim="sub",
    )
    plain_flow = Flow(client, plain, fake_provider)
    params = plain_flow.start()
    assert "nonce" not in params
    response = plain_flow.callback(params)
    assert response.status_code == 302, error_code(response)
    assert SocialAccount.objects.get().sub == "user-123"
    assert fake_provider.calls_to("openid-configuration") == 0
