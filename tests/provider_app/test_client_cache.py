"""Clients served from the shared cache at the token endpoint (provider_app.client_cache)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from provider_app.internal import clients as client_cache
from provider_app.internal import token_cache
from provider_app.internal.clients import generate_client_secret
from tests.factories import ApplicationFactory
from tests.oauth_helpers import basic_auth

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "tokens": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "client-tests"},
}


@pytest.fixture(autouse=True)
def shared_cache():
    with override_settings(
        CACHES=CACHES, PROVIDER_APP_TOKEN_CACHE="tokens", PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL=True
    ):
        caches["tokens"].clear()
        yield caches["tokens"]
        caches["tokens"].clear()


@pytest.fixture
def service(db):
    return ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")


def _token(client, client_id, secret):
    return client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "profile"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )


def _application_queries(queries) -> int:
    return sum('FROM "oauth2_provider_application"' in q["sql"] for q in queries.captured_queries)


def test_second_token_request_does_not_read_the_client_row(client, service):
    assert _token(client, service.client_id, service.raw_secret).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert _token(client, service.client_id, service.raw_secret).status_code == 200
    assert _application_queries(queries) == 0


def test_p15_rotated_secret_takes_effect_at_once(client, service):
    assert _token(client, service.client_id, service.raw_secret).status_code == 200
    new_secret = generate_client_secret()
    service.client_secret = new_secret
    service.save()
    assert _token(client, service.client_id, service.raw_secret).status_code == 401
    assert _token(client, service.client_id, new_secret).status_code == 200


def test_deleted_client_is_refused_at_once(client, service):
    assert _token(client, service.client_id, service.raw_secret).status_code == 200
    service.delete()
    assert _token(client, service.client_id, service.raw_secret).status_code == 401


def test_renamed_client_id_stops_resolving(client, service):
    old_id = service.client_id
    assert _token(client, old_id, service.raw_secret).status_code == 200
    service.client_id = "renamed-client"
    service.save()
    assert _token(client, old_id, service.raw_secret).status_code == 401
    assert _token(client, "renamed-client", service.raw_secret).status_code == 200


def test_wrong_secret_is_refused_from_the_cache(client, service):
    assert _token(client, service.client_id, service.raw_secret).status_code == 200
    assert _token(client, service.client_id, generate_client_secret()).status_code == 401


def test_p16_a_plain_text_secret_is_never_cached(shared_cache, service):
    service.client_secret = "plain-text-secret-that-was-never-hashed-0123456789"
    _, permit = token_cache.lookup(shared_cache, client_cache._key(service.client_id))
    client_cache._remember(shared_cache, token_cache.Lookup(None, permit), service)
    assert token_cache.lookup(shared_cache, client_cache._key(service.client_id))[0] is None


def test_cached_client_holds_only_the_hash(client, service, shared_cache):
    assert _token(client, service.client_id, service.raw_secret).status_code == 200
    values, _ = token_cache.lookup(shared_cache, client_cache._key(service.client_id))
    assert values["client_secret"].startswith("client_secret_sha256$")
    assert service.raw_secret not in repr(values)
