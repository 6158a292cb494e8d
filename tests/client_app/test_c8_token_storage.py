"""C8: tokens and secrets are encrypted at rest (rotatable key) and never reach the browser, a URL
or a log line."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection

from client_app.models import Provider, TokenSet
from tests.client_app.conftest import provider_change_form
from tests.client_app.fake_provider import CLIENT_SECRET

pytestmark = pytest.mark.django_db


def raw_column(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")
        return [row[0] for row in cursor.fetchall()]


def test_c8_tokens_are_encrypted_at_rest(flow, settings):
    flow.login()
    token_set = TokenSet.objects.get()
    for column, plaintext in [
        ("access_token", token_set.access_token),
        ("refresh_token", token_set.refresh_token),
        ("id_token", token_set.id_token),
    ]:
        (stored,) = raw_column("client_app_tokenset", column)
        assert plaintext and plaintext not in stored
        fernet = Fernet(settings.CLIENT_APP_ENCRYPTION_KEYS[0].encode())
        assert fernet.decrypt(stored.encode()).decode() == plaintext


def test_c8_client_secret_and_pkce_verifier_are_encrypted_at_rest(flow):
    flow.start()
    assert CLIENT_SECRET not in raw_column("client_app_provider", "client_secret")[0]
    (stored_verifier,) = raw_column("client_app_pendinglogin", "code_verifier")
    assert len(stored_verifier) > 100 and stored_verifier.startswith("gAAAAA")  # a Fernet token


def test_c8_tokens_never_reach_the_browser_or_a_url_or_a_log(flow, caplog):
    caplog.set_level(logging.DEBUG)
    responses = [flow.login("/client/profile/")]
    token_set = TokenSet.objects.get()
    secrets = [token_set.access_token, token_set.refresh_token, token_set.id_token, CLIENT_SECRET]
    responses += [flow.client.get(path) for path in ("/client/profile/", "/client/connections/", "/client/")]
    responses.append(flow.client.post("/client/logout/"))
    for response in responses:
        exposed = response.content.decode() + response.get("Location", "") + str(response.cookies)
        for secret in secrets:
            assert secret not in exposed
    for secret in secrets:
        assert secret not in caplog.text
    for call in flow.fake.mock.calls:
        for secret in secrets:
            assert secret not in call.request.url  # never in a query string


def test_c8_errors_do_not_log_tokens(flow, caplog):
    caplog.set_level(logging.DEBUG)
    params = flow.start()
    flow.fake.token_status = 400
    flow.fake.token_body = {"error": "invalid_grant", "error_description": "code the-code is bad"}
    flow.callback(params)
    assert "the-code" not in caplog.text
    assert CLIENT_SECRET not in caplog.text


def test_c8_key_rotation_reencrypts_with_the_newest_key(flow, settings):
    flow.login()
    old_key = settings.CLIENT_APP_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    access_token = TokenSet.objects.get().access_token
    settings.CLIENT_APP_ENCRYPTION_KEYS = [new_key, old_key]
    assert TokenSet.objects.get().access_token == access_token  # old values still readable
    call_command("client_app_rotate_keys", stdout=open("/dev/null", "w"))
    settings.CLIENT_APP_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert TokenSet.objects.get().access_token == access_token
    assert Provider.objects.get().client_secret == CLIENT_SECRET
    (stored,) = raw_column("client_app_tokenset", "access_token")
    # Re-encrypted with the new key: the old key no longer opens it, the new one does.
    with pytest.raises(InvalidToken):
        Fernet(old_key.encode()).decrypt(stored.encode())
    assert Fernet(new_key.encode()).decrypt(stored.encode()).decode() == access_token


def test_c8_admin_never_shows_the_client_secret_or_tokens(flow, verified_admin_client):
    provider = flow.provider
    response = verified_admin_client.get(f"/admin/client_app/provider/{provider.pk}/change/")
    assert response.status_code == 200
    assert 'name="new_client_secret"' in response.content.decode()
    assert CLIENT_SECRET not in response.content.decode()
    flow.login()
    token_set = TokenSet.objects.get()
    response = verified_admin_client.get(f"/admin/client_app/tokenset/{token_set.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    for value in (token_set.access_token, token_set.refresh_token, token_set.id_token):
        assert value not in page


def test_c8_admin_secret_is_write_only(verified_admin_client, provider):
    change_url = f"/admin/client_app/provider/{provider.pk}/change/"
    form = provider_change_form(provider)
    assert verified_admin_client.post(change_url, form).status_code == 302
    assert Provider.objects.get().client_secret == CLIENT_SECRET  # empty keeps the secret
    form["new_client_secret"] = "a-brand-new-secret-" + "z" * 30
    assert verified_admin_client.post(change_url, form).status_code == 302
    assert Provider.objects.get().client_secret == form["new_client_secret"]


def test_c8_admin_refuses_hmac_and_none_algorithms(verified_admin_client, provider):
    form = {
        "name": "X",
        "slug": "x",
        "position": 0,
        "issuer": "https://x.example",
        "client_id": "x",
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": "openid",
        "extra_authorization_params": "{}",
        "id_token_signing_algs": "RS256 HS256 none",
        "subject_claim": "sub",
    }
    response = verified_admin_client.post("/admin/client_app/provider/add/", form)
    assert response.status_code == 200
    assert "refused: HS256, none" in response.content.decode()
