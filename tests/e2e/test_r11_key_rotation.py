"""R11: the signing key rotates without a failed request: a new key is published before it signs,
the old one stays published until every token it signed has expired; services (resource_app) and
ID-token verifiers keep accepting every token across the whole rotation."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone
from jwcrypto import jwk, jwt

from provider_app.internal import signing_keys
from provider_app.models import SigningKey
from resource_app.validation import validate_token
from tests.e2e.conftest import client_credentials_token
from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import (
    authorize_and_exchange,
    register_resource,
)

pytestmark = pytest.mark.e2e

NOTES = "https://notes.example.com/"


def _kid(token: str) -> str:
    import base64

    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _published(issuer: str) -> set[str]:
    return {key["kid"] for key in requests.get(f"{issuer}/.well-known/jwks.json", timeout=10).json()["keys"]}


def _command(*args) -> str:
    out = io.StringIO()
    call_command("provider_app_signing_keys", *args, stdout=out)
    return out.getvalue()


def _publish_long_enough(kid: str) -> None:
    """As if the key had been in the JWKS long enough for every cache, stale ones included, to have it."""
    age = signing_keys.publication_wait() + timedelta(seconds=1)
    SigningKey.objects.filter(kid=kid).update(created=timezone.now() - age)


def test_r11_a_full_rotation_fails_no_request(provider_issuer):
    provider = provider_issuer
    caller = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    register_resource(NOTES, caller, scopes="notes:read", token_format="jwt")

    def token() -> str:
        return client_credentials_token(provider, caller, NOTES)

    issued = [token()]
    service = override_settings(
        RESOURCE_APP_ISSUER=provider,
        RESOURCE_APP_AUDIENCE=NOTES,
        RESOURCE_APP_MODE="jwt",
        RESOURCE_APP_JWKS_REFRESH_COOLDOWN=0,
    )

    def every_token_accepted() -> None:
        with service:
            for value in issued:
                assert validate_token(value).audiences == (NOTES,)

    first_kid = _kid(issued[0])
    every_token_accepted()

    # 1. A new key is published, not signing yet.
    second = SigningKey.objects.get(kid=_command("add").split()[4])
    assert second.kid in _published(provider_issuer)
    issued.append(token())
    assert _kid(issued[-1]) == first_kid
    every_token_accepted()

    # 2. It may sign only once every verifier's cached key set can hold it.
    with pytest.raises(CommandError):
        _command("activate", second.kid)
    _publish_long_enough(second.kid)
    _command("activate", second.kid)
    issued.append(token())
    assert _kid(issued[-1]) == second.kid
    every_token_accepted()  # the service fetched the key set again for the new kid

    # 3. The next rotation retires the second key: still published for its tokens.
    third = SigningKey.objects.get(kid=_command("add").split()[4])
    _publish_long_enough(third.kid)
    _command("activate", third.kid)
    second.refresh_from_db()
    assert second.state == SigningKey.RETIRED and second.retire_after > timezone.now()
    issued.append(token())
    assert _kid(issued[-1]) == third.kid and second.kid in _published(provider_issuer)
    every_token_accepted()
    assert _command("retire") == "Removed 0 retired keys.\n"  # its tokens may still be alive

    # 4. Once every token it signed has expired, it leaves the key set.
    SigningKey.objects.filter(kid=second.kid).update(retire_after=timezone.now() - timedelta(seconds=1))
    assert "Removed 1" in _command("retire")
    signing_keys.forget()  # the live server runs in this process: it reads the keys again
    assert second.kid not in _published(provider_issuer)
    assert {first_kid, third.kid} <= _published(provider_issuer)


def test_r11_id_tokens_are_signed_with_the_active_key_and_hints_verify_after_rotation(provider_issuer):
    user, application = UserFactory(), ApplicationFactory()
    browser = Client()
    browser.force_login(user)

    def id_token() -> str:
        return authorize_and_exchange(browser, application)[1]["id_token"]

    before = id_token()
    row = signing_keys.add()
    _publish_long_enough(row.kid)
    signing_keys.activate(row.kid)
    after = id_token()
    assert _kid(after) == row.kid != _kid(before)
    keyset = jwk.JWKSet.from_json(browser.get("/o/.well-known/jwks.json").content)
    for value in (before, after):  # what a client (client_app, any RP) does with the JWKS
        jwt.JWT(jwt=value, key=keyset, algs=["RS256"])
    from provider_app.oauth2_validator import ProviderOAuth2Validator

    for value in (before, after):  # id_token_hint (RP-initiated logout) checks both
        assert ProviderOAuth2Validator()._load_id_token(value) is not None


@pytest.mark.django_db
def test_p16_signing_keys_are_encrypted_at_rest():
    row = signing_keys.add()
    assert "PRIVATE KEY" not in row.private_key
    assert b"PRIVATE KEY" in signing_keys._fernet().decrypt(row.private_key.encode())


@pytest.mark.django_db
def test_r11_a_key_no_secret_opens_is_skipped_not_a_500(client, settings):
    row = signing_keys.add()
    signing_keys.activate(row.kid, force=True)
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40  # the old one not kept in the fallbacks
    signing_keys.forget()
    response = client.get("/o/.well-known/jwks.json")
    assert response.status_code == 200
    assert row.kid not in {key["kid"] for key in response.json()["keys"]}  # the settings key signs again


@pytest.mark.django_db
def test_r11_reencrypt_after_a_secret_key_rotation(settings):
    row = signing_keys.add()
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-" + "z" * 40, [old]
    assert "Re-encrypted 1 keys" in _command("reencrypt")
    settings.SECRET_KEY_FALLBACKS = []
    signing_keys.forget()
    assert row.kid in {key.thumbprint() for key in signing_keys.current().published}


@pytest.mark.django_db
def test_r11_the_admin_never_deletes_a_key_still_needed(rf, admin_user):
    from django.contrib import admin as django_admin

    from provider_app.admin import SigningKeyAdmin

    row = signing_keys.add()
    model_admin = SigningKeyAdmin(SigningKey, django_admin.site)
    request = rf.get("/admin/")
    request.user = admin_user
    assert not model_admin.has_delete_permission(request, row)  # published
    later = timezone.now() + timedelta(hours=1)
    SigningKey.objects.filter(pk=row.pk).update(state=SigningKey.RETIRED, retire_after=later)
    row.refresh_from_db()
    assert not model_admin.has_delete_permission(request, row)  # retired, its tokens may be alive
    SigningKey.objects.filter(pk=row.pk).update(retire_after=timezone.now() - timedelta(seconds=1))
    row.refresh_from_db()
    assert model_admin.has_delete_permission(request, row)
    assert "delete_selected" not in model_admin.get_actions(request)


@pytest.mark.postgres  # concurrent writers: SQLite locks its table ("database table is locked")
def test_r11_a_rotation_under_concurrent_traffic_fails_no_request(provider_issuer):
    """A client keeps getting tokens and a service keeps validating all of them, from another
    thread, while the keys are rotated twice: no token is ever refused."""
    import threading

    provider = provider_issuer
    caller = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    register_resource(NOTES, caller, scopes="notes:read", token_format="jwt")
    issued, failures, stop = [], [], threading.Event()
    service = override_settings(
        RESOURCE_APP_ISSUER=provider,
        RESOURCE_APP_AUDIENCE=NOTES,
        RESOURCE_APP_MODE="jwt",
        RESOURCE_APP_JWKS_REFRESH_COOLDOWN=0,
        RESOURCE_APP_JWT_CACHE_SIZE=0,  # every validation checks the signature again
    )

    def traffic() -> None:
        while not stop.is_set():
            try:
                issued.append(client_credentials_token(provider, caller, NOTES))
                for value in issued[-20:]:
                    validate_token(value)
            except Exception as error:  # noqa: BLE001 (every failure is a finding)
                failures.append(repr(error))

    with service:
        worker = threading.Thread(target=traffic)
        worker.start()
        try:
            while len(issued) < 5 and not failures:  # traffic under the settings key first
                threading.Event().wait(0.05)
            for _ in range(2):
                row = signing_keys.add()
                _publish_long_enough(row.kid)
                signing_keys.activate(row.kid)
                started = len(issued)
                while len(issued) < started + 5 and not failures:  # traffic under the new key
                    threading.Event().wait(0.05)
        finally:
            stop.set()
            worker.join(timeout=30)
    assert failures == []
    assert len({_kid(value) for value in issued}) == 3  # the settings key, then two rotations


def test_r11_with_the_default_cooldown_the_documented_rotation_fails_no_request(provider_issuer, monkeypatch):
    """The rotation of docs/operations.md against a service left at resource_app's defaults (key set
    kept up to an hour, one unknown-kid fetch per 30 s cooldown), on the service's clock moved on by
    the test: the wait before ``activate`` outlasts both the service's cached key set and the
    cooldown, so the new key is already known through an ordinary refresh when it starts signing,
    even when a forged kid spent the cooldown just before the key was added. An unknown kid within
    the cooldown fetches nothing."""
    from types import SimpleNamespace

    from resource_app.app_settings import app_settings
    from resource_app.internal import jwks
    from tests.resource_app.conftest import mint, signing_key

    provider = provider_issuer
    caller = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    register_resource(NOTES, caller, scopes="notes:read", token_format="jwt")
    clock = [1_000_000.0]  # the service's monotonic clock, moved on by the test
    monkeypatch.setattr(jwks, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    fetches = []
    real_fetch = jwks._fetch

    def counted_fetch():
        fetches.append(clock[0])
        return real_fetch()

    monkeypatch.setattr(jwks, "_fetch", counted_fetch)
    service = override_settings(
        RESOURCE_APP_ISSUER=provider, RESOURCE_APP_AUDIENCE=NOTES, RESOURCE_APP_MODE="jwt"
    )
    issued, refused = [], []

    def traffic() -> None:
        issued.append(client_credentials_token(provider, caller, NOTES))
        with service:
            for value in issued:
                try:
                    validate_token(value)
                except Exception as error:  # noqa: BLE001 (every refusal is a finding)
                    refused.append((_kid(value), repr(error)))

    def forged() -> bool:
        """A token naming a kid the provider never had (signed with a key of the test's own)."""
        with service:
            try:
                validate_token(mint({"iss": provider, "aud": NOTES}, key=signing_key("made-up")))
            except Exception:  # noqa: BLE001
                return False
        return True

    with service:
        assert app_settings.JWKS_REFRESH_COOLDOWN == 30  # the default, not the other tests' 0
        assert (app_settings.JWKS_MIN_AGE, app_settings.JWKS_MAX_AGE) == (60, 3600)
    traffic()  # under the settings key; the service caches the key set (max-age: 1 h)
    assert len(fetches) == 1

    # 1. A forged kid spends the cooldown just before the new key is added: one fetch, of the old
    #    key set; a second unknown kid within the cooldown fetches nothing.
    assert not forged() and len(fetches) == 2
    clock[0] += 1
    assert not forged() and len(fetches) == 2

    # 2. add: published, not signing; traffic goes on every ten minutes through the wait.
    row = signing_keys.add()
    wait = signing_keys.publication_wait().total_seconds()
    for _ in range(int(wait // 600)):
        clock[0] += 600
        traffic()
    clock[0] += wait % 600
    _publish_long_enough(row.kid)
    fetched = len(fetches)  # ordinary refreshes as the cached key set aged

    # 3. activate: the new key signs, and every service already holds it.
    signing_keys.activate(row.kid)
    traffic()
    assert _kid(issued[-1]) == row.kid
    assert refused == []
    assert len(fetches) == fetched  # known through an ordinary refresh, not the unknown-kid path

    # 4. A forged kid costs one fetch per cooldown, and the genuine tokens nothing.
    assert not forged() and len(fetches) == fetched + 1
    clock[0] += app_settings.JWKS_REFRESH_COOLDOWN - 1
    assert not forged() and len(fetches) == fetched + 1
    traffic()
    clock[0] += 1
    assert not forged() and len(fetches) == fetched + 2
    assert refused == []
