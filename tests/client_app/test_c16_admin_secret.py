"""C16: changing a provider's issuer or any endpoint requires entering its client secret again, so
that staff allowed to change providers cannot send the stored secret to a server of their own."""

from __future__ import annotations

import pytest

from client_app.models import Provider
from tests.client_app.conftest import provider_change_form
from tests.client_app.fake_provider import CLIENT_SECRET

pytestmark = pytest.mark.django_db

NEW_SECRET = "a-brand-new-secret-" + "z" * 30


def _change(client, provider, **changes):
    return client.post(
        f"/admin/client_app/provider/{provider.pk}/change/", provider_change_form(provider, **changes)
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"token_endpoint": "https://attacker.example/token"},
        {"issuer": "https://attacker.example"},
        {"userinfo_endpoint": "https://attacker.example/userinfo"},
        {"use_discovery": None},  # unticked: the (empty) hand-entered endpoints would be used
    ],
)
def test_c16_changing_where_the_secret_goes_needs_the_secret_again(verified_admin_client, provider, changes):
    response = _change(verified_admin_client, provider, **changes)
    assert response.status_code == 200  # the form again, with the error
    assert "Enter the client secret again" in response.content.decode()
    stored = Provider.objects.get()
    assert stored.client_secret == CLIENT_SECRET
    assert stored.token_endpoint == provider.token_endpoint and stored.issuer == provider.issuer


def test_c16_with_the_secret_entered_the_change_is_saved(verified_admin_client, provider):
    response = _change(
        verified_admin_client,
        provider,
        token_endpoint="https://op.example/token",
        new_client_secret=NEW_SECRET,
    )
    assert response.status_code == 302
    stored = Provider.objects.get()
    assert stored.token_endpoint == "https://op.example/token"
    assert stored.client_secret == NEW_SECRET


def test_c16_other_changes_keep_the_secret_without_asking(verified_admin_client, provider):
    assert _change(verified_admin_client, provider, name="Renamed", scopes="openid").status_code == 302
    stored = Provider.objects.get()
    assert stored.name == "Renamed" and stored.client_secret == CLIENT_SECRET
