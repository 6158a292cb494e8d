"""RFC 8693 ``act`` at the resource: the chain of services acting for the user is exposed to views,
and a view can require or refuse an actor; only the current actor decides (the resource's part of
X5; the provider's part is in tests/provider_app/test_x_token_exchange.py)."""

from __future__ import annotations

import time

import pytest

from tests.resource_app.conftest import AUDIENCE, ISSUER, mint

pytestmark = pytest.mark.django_db

ALLOWING = ("/files-for-notes/", "/plain/files-for-notes/")


def _get(client, url, token):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def _acting(*actors: str) -> dict:
    """``act`` for a chain, the current actor first: ("b", "a") is b acting for a acting for the user."""
    act = None
    for actor in reversed(actors):
        act = {"sub": actor, **({"act": act} if act else {})}
    return {"act": act} if act else {}


@pytest.mark.parametrize("url", ALLOWING)
def test_x5_the_chain_is_exposed_current_actor_first(client, provider, url):
    response = _get(client, url, mint(_acting("notes-service", "web-client")))
    assert response.status_code == 200, response.content
    assert response.json() == {"sub": "user-42", "actors": ["notes-service", "web-client"]}


@pytest.mark.parametrize("url", ALLOWING)
def test_x5_a_view_requiring_an_actor_refuses_other_callers(client, provider, url):
    for claims in (_acting("reports-service"), {}):  # another service, or the web client directly
        response = _get(client, url, mint(claims))
        assert response.status_code == 403, claims
        assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    # the allowed service calling with its own token (nobody acts for anyone: it presents it)
    assert _get(client, url, mint({"client_id": "notes-service"})).status_code == 200


@pytest.mark.parametrize("url", ALLOWING)
def test_x5_only_the_current_actor_decides(client, provider, url):
    # notes-service earlier in the chain does not make a call by reports-service acceptable
    assert _get(client, url, mint(_acting("reports-service", "notes-service"))).status_code == 403


def test_x5_a_refused_actor_is_refused_anywhere_it_is_current(client, provider):
    assert _get(client, "/no-reports/", mint(_acting("reports-service"))).status_code == 403
    assert _get(client, "/no-reports/", mint(_acting("notes-service", "reports-service"))).status_code == 200
    assert _get(client, "/no-reports/", mint()).status_code == 200
    assert _get(client, "/no-reports/", mint({"client_id": "reports-service"})).status_code == 403


@pytest.mark.parametrize(
    "act",
    [
        "notes-service",
        {"client_id": "notes-service"},
        {"sub": ""},
        {"sub": 42},
        {"sub": "a", "act": ["b"]},
        _acting(*[f"service-{n}" for n in range(11)])["act"],
    ],
    ids=["string", "no-sub", "empty-sub", "number-sub", "nested-list", "eleven-deep"],
)
def test_x5_a_malformed_act_refuses_the_token(client, provider, act):
    response = _get(client, "/notes/", mint({"act": act}))
    assert response.status_code == 401 and 'error="invalid_token"' in response["WWW-Authenticate"]


def test_x5_introspection_answers_carry_the_chain_too(client, provider, settings):
    settings.RESOURCE_APP_MODE = "introspection"
    provider.introspection = {
        "active": True, "iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "client_id": "notes-service",
        "scope": "notes:read", "exp": int(time.time()) + 300, **_acting("notes-service", "web-client"),
    }  # fmt: skip
    response = _get(client, "/files-for-notes/", "opaque-reference-token-0123456789")
    assert response.status_code == 200, response.content
    assert response.json()["actors"] == ["notes-service", "web-client"]
