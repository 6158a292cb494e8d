"""The client admin: a generated secret shown exactly once, stored hashed, rotation, tokens listed per
client and revocable, and no secret or token displayed anywhere afterwards."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from oauth2_provider.models import get_access_token_model, get_application_model

from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    api_me,
    client_credentials,
    issue_tokens,
    post_refresh,
    verified_client,
)

pytestmark = pytest.mark.django_db

Application = get_application_model()
ADD_URL = "/admin/oauth2_provider/application/add/"


def _change_url(application) -> str:
    return f"/admin/oauth2_provider/application/{application.pk}/change/"


def _rotate_url(application) -> str:
    return f"/admin/oauth2_provider/application/{application.pk}/rotate-secret/"


def _add_form(**overrides) -> dict:
    data = {
        "name": "Reporting service",
        "user": "",
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "redirect_uris": "",
        "post_logout_redirect_uris": "",
        "allowed_origins": "",
        "policy-TOTAL_FORMS": "1",
        "policy-INITIAL_FORMS": "0",
        "policy-MIN_NUM_FORMS": "0",
        "policy-MAX_NUM_FORMS": "1",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def _shown_secret(response) -> str:
    match = re.search(r'<code id="client-secret">([^<]+)</code>', response.content.decode())
    assert match, "the response page shows the secret"
    return match.group(1)


def test_created_client_shows_a_generated_secret_once_and_stores_it_hashed(verified_admin_client, client):
    response = verified_admin_client.post(ADD_URL, _add_form())
    assert response.status_code == 200, response.content[:2000]
    assert "no-store" in response["Cache-Control"]
    secret = _shown_secret(response)
    assert len(secret) >= 43  # at least 256 bits of base64url
    application = Application.objects.get(name="Reporting service")
    assert application.client_secret.startswith("client_secret_sha256$")
    assert secret not in application.client_secret
    assert check_password(secret, application.client_secret)
    assert application.client_id in response.content.decode()
    # The secret works at the token endpoint.
    assert client_credentials(client, application, secret).status_code == 200
    # ...and is never displayed again.
    for url in (_change_url(application), "/admin/oauth2_provider/application/"):
        page = verified_admin_client.get(url).content.decode()
        assert secret not in page
        assert application.client_secret not in page
        assert "client_secret_sha256$" not in page


def test_each_created_client_gets_a_different_secret(verified_admin_client):
    first = _shown_secret(verified_admin_client.post(ADD_URL, _add_form(name="one")))
    second = _shown_secret(verified_admin_client.post(ADD_URL, _add_form(name="two")))
    assert first != second


def test_admin_form_has_no_secret_field(verified_admin_client):
    page = verified_admin_client.get(ADD_URL).content.decode()
    assert 'name="client_secret"' not in page
    assert 'name="hash_client_secret"' not in page
    # A secret posted anyway is ignored: the server generates it.
    response = verified_admin_client.post(ADD_URL, _add_form(client_secret="chosen-by-hand" * 4))
    assert _shown_secret(response) != "chosen-by-hand" * 4


def test_admin_refuses_http_redirect_uris_outside_loopback(verified_admin_client):
    response = verified_admin_client.post(
        ADD_URL,
        _add_form(
            authorization_grant_type="authorization-code", redirect_uris="http://client.example.com/cb"
        ),
    )
    assert response.status_code == 200
    assert b"loopback" in response.content
    assert not Application.objects.filter(name="Reporting service").exists()


def test_rotate_secret_get_only_asks(verified_admin_client):
    application = ApplicationFactory(authorization_grant_type="client-credentials")
    stored = application.client_secret
    response = verified_admin_client.get(_rotate_url(application))
    assert response.status_code == 200
    assert b'<form method="post">' in response.content
    application.refresh_from_db()
    assert application.client_secret == stored


def test_rotate_secret_shows_the_new_secret_once_and_the_old_one_stops_working(verified_admin_client, client):
    application = ApplicationFactory(authorization_grant_type="client-credentials")
    old_secret = application.raw_secret
    assert client_credentials(client, application, old_secret).status_code == 200
    response = verified_admin_client.post(_rotate_url(application))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new_secret = _shown_secret(response)
    assert new_secret != old_secret
    application.refresh_from_db()
    assert application.client_secret.startswith("client_secret_sha256$")
    assert client_credentials(client, application, old_secret).status_code == 401
    assert client_credentials(client, application, new_secret).status_code == 200
    assert new_secret not in verified_admin_client.get(_change_url(application)).content.decode()


def test_p25_rotate_secret_needs_change_permission(user):
    # A staff user with a verified second factor who may only view clients: the permission check
    # itself refuses (before, the test's user had no second factor and never reached it).
    from django.contrib.auth.models import Permission

    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    client = verified_client(user)
    application = ApplicationFactory()
    assert client.get(_change_url(application)).status_code == 200  # it can see the client
    stored = application.client_secret
    assert client.get(_rotate_url(application)).status_code == 403
    assert client.post(_rotate_url(application)).status_code == 403
    application.refresh_from_db()
    assert application.client_secret == stored


def test_rotate_secret_of_an_unknown_client_is_404(verified_admin_client):
    assert (
        verified_admin_client.post("/admin/oauth2_provider/application/999999/rotate-secret/").status_code
        == 404
    )


def test_change_page_links_to_rotation_and_tokens(verified_admin_client):
    application = ApplicationFactory()
    page = verified_admin_client.get(_change_url(application)).content.decode()
    assert _rotate_url(application) in page
    assert "never shown again" in page


def test_tokens_are_listed_per_client_without_their_values(verified_admin_client, client, user):
    application = ApplicationFactory()
    other = ApplicationFactory()
    tokens = issue_tokens(client, user, application, logout=True)
    other_tokens = issue_tokens(client, user, other, logout=True)
    changelist = verified_admin_client.get("/admin/oauth2_provider/application/").content.decode()
    assert f"application__id__exact={application.pk}" in changelist
    listing = verified_admin_client.get(
        "/admin/oauth2_provider/accesstoken/", {"application__id__exact": application.pk}
    )
    assert listing.status_code == 200
    page = listing.content.decode()
    assert listing.context["cl"].result_count == 1
    for value in (tokens["access_token"], tokens["refresh_token"], other_tokens["access_token"]):
        assert value not in page
    token = get_access_token_model().objects.get(application=application)
    detail = verified_admin_client.get(
        f"/admin/oauth2_provider/accesstoken/{token.pk}/change/"
    ).content.decode()
    assert tokens["access_token"] not in detail
    refresh_page = verified_admin_client.get("/admin/oauth2_provider/refreshtoken/").content.decode()
    assert tokens["refresh_token"] not in refresh_page


def test_revoke_all_tokens_action(verified_admin_client, client, user):
    application = ApplicationFactory()
    other = ApplicationFactory()
    tokens = issue_tokens(client, user, application, logout=True)
    other_tokens = issue_tokens(client, user, other, logout=True)
    response = verified_admin_client.post(
        "/admin/oauth2_provider/application/",
        {"action": "revoke_all_tokens", "_selected_action": [application.pk]},
        follow=True,
    )
    assert b"Revoked 1 access tokens" in response.content
    assert api_me(client, tokens["access_token"]).status_code == 401
    refresh = post_refresh(client, application, tokens["refresh_token"], basic=True)
    assert refresh.status_code == 400
    assert api_me(client, other_tokens["access_token"]).status_code == 200


def test_revoke_selected_access_tokens_action(verified_admin_client, client, user):
    application = ApplicationFactory()
    tokens = issue_tokens(client, user, application, logout=True)
    token = get_access_token_model().objects.get(application=application)
    verified_admin_client.post(
        "/admin/oauth2_provider/accesstoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert api_me(client, tokens["access_token"]).status_code == 401


# Weak hand-typed secrets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        "weak",
        "password123",
        "a" * 64,
        "abababababababababababababababababababab",
        "0123456789" * 4,
        "Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4dor&3",
    ],
)
def test_weak_secret_refused_on_model_save(secret):
    with pytest.raises(ValidationError):
        Application.objects.create(
            name="weak",
            client_type="confidential",
            authorization_grant_type="client-credentials",
            client_secret=secret,
        )
    assert not Application.objects.filter(name="weak").exists()


def test_weak_secret_refused_by_full_clean():
    application = Application(
        name="weak",
        client_type="confidential",
        authorization_grant_type="client-credentials",
        client_secret="weak",
    )
    with pytest.raises(ValidationError) as error:
        application.full_clean()
    assert "client_secret" in error.value.message_dict


def test_strong_hand_typed_secret_accepted_and_hashed():
    import secrets

    secret = secrets.token_urlsafe(32)
    application = Application.objects.create(
        name="strong",
        client_type="confidential",
        authorization_grant_type="client-credentials",
        client_secret=secret,
    )
    assert application.client_secret.startswith("client_secret_sha256$")
    assert check_password(secret, application.client_secret)


def test_saving_again_keeps_the_hash():
    application = ApplicationFactory()
    stored = application.client_secret
    application.name = "renamed"
    application.save()
    application.full_clean()
    application.refresh_from_db()
    assert application.client_secret == stored
    assert check_password(application.raw_secret, application.client_secret)


def test_secret_is_hashed_even_if_hashing_is_switched_off():
    application = ApplicationFactory(hash_client_secret=False)
    assert application.client_secret.startswith("client_secret_sha256$")


def test_generated_secrets_always_pass_the_strength_rules():
    from provider_app.internal.clients import generate_client_secret, validate_client_secret_strength

    for _ in range(2000):
        validate_client_secret_strength(generate_client_secret())


def test_random_hex_secrets_of_256_bits_pass_the_strength_rules():
    import secrets

    from provider_app.internal.clients import validate_client_secret_strength

    for _ in range(2000):
        validate_client_secret_strength(secrets.token_hex(32))


@pytest.mark.parametrize("object_id", ["abc", "1%00", "99999999999999999999999"])
def test_rotate_secret_with_a_malformed_id_is_not_a_500(verified_admin_client, object_id):
    response = verified_admin_client.post(f"/admin/oauth2_provider/application/{object_id}/rotate-secret/")
    assert response.status_code in (302, 404)
