"""Introspection mode (RFC 7662): R9 (bounded cache by digest), R10 (own audience only), R12 (503)."""

from __future__ import annotations

import time

import pytest
import time_machine
from django.core.cache import caches

from resource_app.internal.introspection import KEY_PREFIX
from tests.resource_app.conftest import AUDIENCE, INTROSPECTION, ISSUER

pytestmark = pytest.mark.django_db

TOKEN = "opaque-reference-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def introspection_mode(settings):
    settings.RESOURCE_APP_MODE = "introspection"
    settings.RESOURCE_APP_INTROSPECTION_CACHE_SECONDS = 30


def _active(**claims) -> dict:
    return {
        "active": True,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "client_id": "web-client",
        "scope": "notes:read",
        "exp": int(time.time()) + 300,
        **claims,
    }


def _get(client, token=TOKEN):
    return client.get("/notes/", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_r9_an_active_token_is_accepted_and_the_answer_reused(client, provider):
    provider.introspection = _active()
    for _ in range(3):
        response = _get(client)
        assert response.status_code == 200 and response.json()["mode"] == "introspection"
    assert provider.calls(INTROSPECTION) == 1
    body = provider.last_introspection_request.body
    assert "token_type_hint=access_token" in body
    assert provider.last_introspection_request.headers["Authorization"].startswith("Basic ")


def test_r9_the_cache_holds_a_digest_never_the_token(client, provider):
    provider.introspection = _active()
    assert _get(client).status_code == 200
    keys = list(caches["resource-tests"]._cache.keys())
    assert keys and all(TOKEN not in key for key in keys)
    assert any(KEY_PREFIX in key for key in keys)


def test_r9_an_answer_is_never_reused_past_the_token_expiry(client, provider):
    provider.introspection = _active(exp=int(time.time()) + 5)
    assert _get(client).status_code == 200
    provider.introspection = {"active": False}  # the token expired at the provider
    with time_machine.travel(time.time() + 6, tick=False):
        assert _get(client).status_code == 401
    assert provider.calls(INTROSPECTION) == 2


def test_r9_an_answer_is_reused_at_most_the_configured_time(client, provider, settings):
    settings.RESOURCE_APP_INTROSPECTION_CACHE_SECONDS = 2
    provider.introspection = _active()
    assert _get(client).status_code == 200
    provider.introspection = {"active": False}  # revoked
    time.sleep(2.1)
    assert _get(client).status_code == 401


def test_r9_an_inactive_token_is_refused(client, provider):
    provider.introspection = {"active": False}
    response = _get(client)
    assert response.status_code == 401 and 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.parametrize(
    "answer",
    [
        {"aud": "https://other-service.example.com/"},
        {"aud": ["https://other-service.example.com/"]},
        {"aud": None},
        {"iss": "https://evil.example.com/o"},
        {"active": "true"},
        {"exp": None},
        {"exp": 1_000_000},
        {"scope": ["notes:read"]},
    ],
)
def test_r10_only_an_answer_for_this_service_is_accepted(client, provider, answer):
    claims = {k: v for k, v in _active(**answer).items() if v is not None}
    provider.introspection = claims
    assert _get(client).status_code == 401


def test_r12_an_unreachable_provider_decides_nothing(client, provider):
    provider.down = True
    response = _get(client)
    assert response.status_code == 503
    assert "Retry-After" in response


def test_r12_a_provider_answering_slowly_is_cut_at_the_deadline_headers_included(client, provider, settings):
    from resource_app.exceptions import ProviderUnavailable
    from resource_app.internal import http
    from tests.processes import trickle_server

    settings.RESOURCE_APP_HTTP_DEADLINE, settings.RESOURCE_APP_HTTP_TIMEOUT = 1.0, 2.0
    provider.mocked.add_passthru("http://127.0.0.1")
    for slow_headers in (True, False):
        with trickle_server(
            b'{"active": false, "padding": "' + b"x" * 40 + b'"}', slow_headers=slow_headers
        ) as url:
            started = time.monotonic()
            with pytest.raises(ProviderUnavailable):
                http.call("POST", url + "/introspect/", data={"token": "t"})
            assert time.monotonic() - started < 1.8, slow_headers


def test_r12_a_provider_refusing_our_credentials_is_a_503(client, provider):
    provider.mocked.replace("POST", INTROSPECTION, status=401, json={"error": "invalid_client"})
    assert _get(client).status_code == 503


def test_r12_a_provider_that_will_not_introspect_this_kind_of_token_refuses_it(client, provider):
    # oidc-provider answers so for its own JWT access tokens, instead of {"active": false}: the
    # token is refused (401), the provider is not down (no 503), and any other 400 is still a 503.
    error = {
        "error": "unsupported_token_type",
        "error_description": "Structured JWT Tokens cannot be introspected",
    }
    provider.mocked.replace("POST", INTROSPECTION, status=400, json=error)
    response = _get(client)
    assert response.status_code == 401 and 'error="invalid_token"' in response["WWW-Authenticate"]
    provider.mocked.replace("POST", INTROSPECTION, status=400, json={"error": "invalid_request"})
    assert _get(client, TOKEN + "-other").status_code == 503


def test_r6_introspection_checks_scopes_too(client, provider):
    provider.introspection = _active(scope="profile")
    response = _get(client)
    assert response.status_code == 403 and 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_r10_services_sharing_a_cache_never_accept_each_others_tokens(client, provider, settings):
    provider.introspection = _active(aud="https://files.example.com/", scope="notes:read")
    settings.RESOURCE_APP_AUDIENCE = "https://files.example.com/"
    assert _get(client).status_code == 200  # the files service accepts (and caches) its token
    settings.RESOURCE_APP_AUDIENCE = AUDIENCE  # the notes service, same cache, same token
    assert _get(client).status_code == 401
    assert provider.calls(INTROSPECTION) == 2  # it asked the provider itself
