"""The number of database queries of the hot endpoints, pinned so that a regression shows in CI.

Two configurations: without a shared cache (the test settings' local-memory cache is not used for
tokens, so every lookup reads the database) and with the token cache (what production runs with
Redis). A change that adds a query fails here; if the new query is wanted, update the number and
say why in the commit. Speed itself is measured by ``bench/`` (docs/performance.md).
"""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings

from bench.fixtures import issue_access_token
from provider_app.models import ClientPolicy
from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    client_credentials,
    exchange,
    introspect,
    post_refresh,
    signed_in_code,
)

TOKEN_CACHE = {
    "CACHES": {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "qc-default"},
        "tokens": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "qc-tokens"},
    },
    "PROVIDER_APP_TOKEN_CACHE": "tokens",
    "PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL": True,
}

# Queries per request. "db": no shared cache; "cached": the token cache holds the client and the
# token already (the steady state of a busy provider).
EXPECTED = {
    # The grant with its user and authentication context (one statement), then one transaction:
    # the code claimed, the ID token (with its context attached), access and refresh tokens, the
    # code remembered for replay detection, the client signed in by the session (back-channel logout,
    # L3), the audit event. "db" also reads the client. Inside the
    # test transaction an empty SAVEPOINT/RELEASE pair stands for DOT's ID-token transaction, which
    # no longer writes anything (provider_app.internal.storage); in production it sends nothing.
    "code_exchange": {"db": 14, "cached": 13},
    # Client, then one transaction: access token, audit event (no savepoint).
    "client_credentials": {"db": 5, "cached": 4},
    # Refresh token locked and rotated, family checks, the sign-in's authentication context (by
    # its refresh-token family, R2; with or without openid), new ID token, new tokens, audit event.
    "refresh": {"db": 23, "cached": 22},
    # DOT's UserInfo view: the token with its user and client.
    "userinfo": {"db": 1, "cached": 1},
    # The calling resource server (client), its policy, the token.
    "introspection": {"db": 3, "cached": 2},
    # The token and its user in one statement; nothing once cached.
    "api_me": {"db": 1, "cached": 0},
}
# On PostgreSQL the new rows of a token response (and the context's link) are written by one
# statement (provider_app.internal.storage): code exchange 8 writes (the code's claim included) -> 1,
# client_credentials 2 -> 1, refresh 4 -> 1. Elsewhere they are saved row by row.
FEWER_ON_POSTGRESQL = {"code_exchange": 7, "client_credentials": 1, "refresh": 3}


def expected(name: str, mode: str) -> int:
    fewer = FEWER_ON_POSTGRESQL.get(name, 0) if connection.vendor == "postgresql" else 0
    return EXPECTED[name][mode] - fewer


@pytest.fixture(params=["db", "cached"])
def mode(request):
    if request.param == "db":
        # No token cache at all, whatever cache the environment configures (REDIS_URL in CI).
        with override_settings(PROVIDER_APP_TOKEN_CACHE=""):
            yield "db"
        return
    with override_settings(**TOKEN_CACHE):
        caches["tokens"].clear()
        yield "cached"
        caches["tokens"].clear()


@pytest.fixture
def service(db):
    return ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")


def test_token_endpoint_code_exchange(client, user, application, mode, django_assert_num_queries):
    warm_request, warm_code = signed_in_code(client, user, application, logout=True)
    warm = exchange(client, application, warm_request, warm_code, basic=True)  # caches the client
    assert warm.status_code == 200
    request, code = signed_in_code(client, user, application, logout=True)
    with django_assert_num_queries(expected("code_exchange", mode)):
        response = exchange(client, application, request, code, basic=True)
    assert response.status_code == 200 and "id_token" in response.json()


def test_token_endpoint_client_credentials(client, service, mode, django_assert_num_queries):
    assert client_credentials(client, service, scope="profile").status_code == 200
    with django_assert_num_queries(expected("client_credentials", mode)):
        response = client_credentials(client, service, scope="profile")
    assert response.status_code == 200


def test_token_endpoint_refresh(client, user, application, mode, django_assert_num_queries):
    _, first = issue_access_token(application, user, "openid profile", with_refresh=True)
    _, second = issue_access_token(application, user, "openid profile", with_refresh=True)
    assert post_refresh(client, application, first, basic=True).status_code == 200
    with django_assert_num_queries(expected("refresh", mode)):
        response = post_refresh(client, application, second, basic=True)
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "path"), [("userinfo", "/o/userinfo/"), ("api_me", "/api/me")])
def test_bearer_endpoint(client, user, application, mode, django_assert_num_queries, name, path):
    token, _ = issue_access_token(application, user, "openid profile email", with_refresh=False)
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    with django_assert_num_queries(expected(name, mode)):
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.json()["sub"] == str(user.pk)


def test_introspection_by_a_resource_server(
    client, user, application, service, mode, django_assert_num_queries
):
    ClientPolicy.objects.create(
        application=service, is_resource_server=True, resource_identifiers="http://testserver/o"
    )
    token, _ = issue_access_token(application, user, "openid profile", with_refresh=False)
    assert introspect(client, service, token).status_code == 200
    with django_assert_num_queries(expected("introspection", mode)):
        response = introspect(client, service, token)
    assert response.json()["active"] is True
