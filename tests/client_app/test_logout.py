"""Logout: local, RP-initiated at the provider, token revocation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from client_app.models import TokenSet

pytestmark = pytest.mark.django_db


def test_local_logout_and_rp_initiated_logout(flow):
    flow.login()
    response = flow.client.post("/client/logout/")
    assert "_auth_user_id" not in flow.client.session
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{flow.fake.issuer}/logout"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query == {
        "client_id": flow.provider.client_id,
        "post_logout_redirect_uri": "http://testserver/client/logged-out/",
    }
    assert TokenSet.objects.exists()  # kept unless revocation is configured


def test_id_token_hint_only_when_asked(flow, provider):
    provider.logout_send_id_token_hint = True
    provider.save()
    flow.login()
    id_token = TokenSet.objects.get().id_token
    response = flow.client.post("/client/logout/")
    assert parse_qs(urlsplit(response["Location"]).query)["id_token_hint"] == [id_token]


def test_logout_without_provider_logout(flow, provider):
    provider.logout_at_provider = False
    provider.save()
    flow.login()
    response = flow.client.post("/client/logout/")
    assert response["Location"] == "http://testserver/client/logged-out/"
    assert flow.client.get("/client/logged-out/").status_code == 200


def test_logout_revokes_tokens_when_configured(flow, provider):
    provider.revoke_tokens_on_logout = True
    provider.save()
    flow.login()
    token_set = TokenSet.objects.get()
    flow.client.post("/client/logout/")
    assert flow.fake.revoked == [token_set.refresh_token, token_set.access_token]
    assert not TokenSet.objects.exists()


def test_logout_revokes_the_services_tokens_kept_for_the_sign_in_too(flow, provider):
    """A provider that does not revoke an access token with its refresh token: a service's token
    kept for the sign-in (RFC 8707) is revoked at logout as well, not left valid until it expires."""
    from client_app.models import ResourceToken

    provider.revoke_tokens_on_logout = True
    provider.save()
    flow.login()
    token_set = TokenSet.objects.get()
    ResourceToken.objects.create(
        token_set=token_set,
        resource="https://notes.example.com/",
        access_token="service-token",
        token_set_version=token_set.version,
    )
    flow.client.post("/client/logout/")
    assert flow.fake.revoked == [token_set.refresh_token, token_set.access_token, "service-token"]
    assert not ResourceToken.objects.exists()


def test_anonymous_logout_is_harmless(client, provider):
    response = client.post("/client/logout/")
    assert response.status_code == 302
    assert response["Location"].endswith("/client/logged-out/")
