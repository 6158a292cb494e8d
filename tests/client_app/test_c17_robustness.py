"""C17: a callback from another browser cannot disturb a pending login; a disabled provider
completes no login; sign-out goes to the provider the user signed in with; generated usernames
are normalised."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from client_app.models import Provider, SocialAccount
from tests.client_app.conftest import Flow, error_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_c17_another_browser_cannot_burn_a_pending_login(flow, provider, fake_provider):
    params = flow.start()  # the victim's login
    attacker = Flow(Client(), provider, fake_provider)
    attacker.start()
    assert error_code(attacker.callback(params)) == "invalid_state"
    # The victim's login is intact and completes.
    fake_provider.last_nonce = params["nonce"]
    assert flow.callback(params).status_code == 302
    assert SocialAccount.objects.count() == 1


def test_c17_a_disabled_provider_completes_no_login_started_before(flow):
    params = flow.start()
    flow.provider.enabled = False
    flow.provider.save()
    response = flow.callback(params)
    assert response.status_code == 400
    assert error_code(response) == "provider_disabled"
    assert flow.fake.token_requests == []
    assert "_auth_user_id" not in flow.client.session


def test_c17_sign_out_goes_to_the_provider_used_to_sign_in_not_the_connected_one(flow, fake_provider):
    assert flow.login().status_code == 302  # signed in with "example"
    other = Provider.objects.create(
        name="Other OP",
        slug="other",
        issuer=flow.provider.issuer,  # the fake provider answers for this issuer too
        client_id=flow.provider.client_id,
        client_secret="other-secret-" + "x" * 32,
        scopes="openid profile email",
        logout_at_provider=False,  # signing out after a login here would stay local
    )
    other_flow = Flow(flow.client, other, fake_provider)
    fake_provider.sub = "someone-at-other"
    assert other_flow.callback(other_flow.start(action="connect")).status_code == 302
    response = flow.client.post("/client/logout/")
    assert response.status_code == 302
    # The provider used to sign in ends its session too (the connected one would not have).
    assert response["Location"].startswith(flow.provider.issuer), response["Location"]
    assert "_auth_user_id" not in flow.client.session


@pytest.mark.parametrize("claimed", ["ａｄｍｉｎ", "Admin", "ADMIN"])
def test_c17_generated_usernames_are_normalised_and_never_collide(flow, claimed):
    admin = UserFactory(username="admin")
    flow.fake.userinfo = {"preferred_username": claimed}
    assert flow.login().status_code == 302
    user = SocialAccount.objects.get().user
    assert user != admin
    assert user.username.lower() == "admin2"
    assert get_user_model().objects.filter(username__in=["ａｄｍｉｎ", "Admin", "ADMIN"]).count() == 0
