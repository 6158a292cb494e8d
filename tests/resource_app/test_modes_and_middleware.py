"""Auto mode (a JWS is validated locally, anything else introspected), the middleware and the mixin."""

from __future__ import annotations

import time

import pytest

from tests.resource_app.conftest import AUDIENCE, INTROSPECTION, ISSUER, JWKS_URI, mint

pytestmark = pytest.mark.django_db

MIDDLEWARE = "resource_app.middleware.BearerTokenMiddleware"


def _get(client, url, token):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_auto_mode_picks_by_the_shape_of_the_token(client, provider, settings):
    settings.RESOURCE_APP_MODE = "auto"
    provider.introspection = {
        "active": True, "iss": ISSUER, "aud": AUDIENCE, "sub": "u", "client_id": "c",
        "scope": "notes:read", "exp": int(time.time()) + 60,
    }  # fmt: skip
    assert _get(client, "/notes/", mint()).json()["mode"] == "jwt"
    assert provider.calls(INTROSPECTION) == 0
    assert _get(client, "/notes/", "opaque-token-value").json()["mode"] == "introspection"
    assert provider.calls(INTROSPECTION) == 1


def test_r5_auto_mode_never_introspects_an_id_token_into_acceptance(client, provider, settings):
    settings.RESOURCE_APP_MODE = "auto"
    assert _get(client, "/notes/", mint(header={"typ": "JWT"})).status_code == 401
    assert provider.calls(INTROSPECTION) == 0


def test_the_middleware_checks_every_token_and_refuses_a_bad_one(client, provider, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    assert client.get("/public/").json() == {"sub": None}  # no token: the view decides
    assert _get(client, "/public/", mint()).json() == {"sub": "user-42"}
    refused = _get(client, "/public/", mint({"aud": "https://other.example.com/"}))
    assert refused.status_code == 401 and 'error="invalid_token"' in refused["WWW-Authenticate"]
    assert provider.calls(JWKS_URI) == 1


@pytest.mark.parametrize("with_middleware", [False, True])
def test_the_mixin_requires_a_token_and_its_scopes(client, provider, settings, with_middleware):
    if with_middleware:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    assert client.get("/mixin/notes/").status_code == 401
    assert _get(client, "/mixin/notes/", mint()).json() == {"sub": "user-42"}
    assert _get(client, "/mixin/notes/", mint({"scope": "profile"})).status_code == 403
