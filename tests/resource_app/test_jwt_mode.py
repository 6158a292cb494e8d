"""JWT mode (RFC 9068 4): tokens validated locally; R5 (typ), R6 (checks, challenges), R8 (header only)."""

from __future__ import annotations

import base64
import json

import pytest
from jwcrypto.common import json_encode
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from tests.resource_app.conftest import AUDIENCE, mint, signing_key

pytestmark = pytest.mark.django_db

URLS = ("/notes/", "/plain/notes/")


def _get(client, url, token=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.get(url, **headers, **extra)


def _challenge(response) -> str:
    return response["WWW-Authenticate"]


@pytest.mark.parametrize("url", URLS)
def test_r6_a_valid_token_is_accepted(client, provider, url):
    response = _get(client, url, mint())
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == "user-42" and response.json()["mode"] == "jwt"


@pytest.mark.parametrize("url", URLS)
def test_r6_no_token_gets_the_bare_challenge(client, provider, url):
    response = _get(client, url)
    assert response.status_code == 401
    assert _challenge(response) == 'Bearer realm="api"'  # RFC 6750 3.1: no error code


@pytest.mark.parametrize("typ", ["JWT", None, "id_token", "at+jwt+x"])
def test_r5_a_jwt_that_is_not_an_access_token_is_refused(client, provider, typ):
    response = _get(client, "/notes/", mint(header={"typ": typ}))
    assert response.status_code == 401
    assert 'error="invalid_token"' in _challenge(response)


def test_r5_an_id_token_of_the_same_provider_is_refused(client, provider):
    id_token = mint({"aud": AUDIENCE, "nonce": "n", "azp": "web-client"}, header={"typ": "JWT"})
    assert _get(client, "/notes/", id_token).status_code == 401


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
def test_r5_both_spellings_of_the_type_are_accepted(client, provider, typ):
    assert _get(client, "/notes/", mint(header={"typ": typ})).status_code == 200


@pytest.mark.parametrize(
    "claims, drop",
    [
        ({"iss": "https://provider.example.com/o/"}, ()),  # exact comparison: a trailing slash differs
        ({"iss": "https://evil.example.com/o"}, ()),
        ({"aud": "https://other-service.example.com/"}, ()),
        ({"aud": ["https://other-service.example.com/"]}, ()),
        ({"exp": 1_000_000}, ()),
        ({"nbf": 4_102_444_800}, ()),  # 2100
        ({"iat": 4_102_444_800}, ()),
        ({}, ("exp",)),
        ({}, ("iat",)),
        ({}, ("sub",)),
        ({}, ("client_id",)),
        ({}, ("jti",)),
        ({"scope": ["notes:read"]}, ()),
        ({"exp": "tomorrow"}, ()),
    ],
)
def test_r6_claims_are_checked(client, provider, claims, drop):
    response = _get(client, "/notes/", mint(claims, drop=drop))
    assert response.status_code == 401, (claims, drop)
    assert 'error="invalid_token"' in _challenge(response)


def test_r6_an_audience_list_that_includes_this_service_is_accepted(client, provider):
    assert _get(client, "/notes/", mint({"aud": ["https://x.example.com/", AUDIENCE]})).status_code == 200


def test_r6_small_clock_skew_is_tolerated(client, provider):
    import time

    assert _get(client, "/notes/", mint({"iat": int(time.time()) + 10})).status_code == 200
    assert _get(client, "/notes/", mint({"exp": int(time.time()) - 10})).status_code == 200


def _unsigned(header: dict, claims: dict) -> str:
    def encode(value) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{encode(header)}.{encode(claims)}."


def test_r6_alg_none_is_refused(client, provider):
    genuine = mint()
    claims = json.loads(base64.urlsafe_b64decode(genuine.split(".")[1] + "=="))
    forged = _unsigned({"alg": "none", "typ": "at+jwt"}, claims)
    assert _get(client, "/notes/", forged).status_code == 401


def test_r6_hs256_signed_with_the_public_key_is_refused(client, provider):
    public_pem = signing_key().export_to_pem()  # what anyone can fetch from the JWKS
    secret = JWK(kty="oct", k=base64.urlsafe_b64encode(public_pem).rstrip(b"=").decode())
    genuine = mint()
    token = JWS(base64.urlsafe_b64decode(genuine.split(".")[1] + "=="))
    header = {"alg": "HS256", "typ": "at+jwt", "kid": "key-1"}
    token.add_signature(secret, alg="HS256", protected=json_encode(header))
    assert _get(client, "/notes/", token.serialize(compact=True)).status_code == 401


def test_r6_a_token_signed_by_another_key_is_refused(client, provider):
    impostor = JWK.generate(kty="RSA", size=2048, kid="key-1")  # same kid, not the provider's key
    assert _get(client, "/notes/", mint(key=impostor)).status_code == 401


def test_r6_a_tampered_payload_is_refused(client, provider):
    header, payload, signature = mint().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "notes:read notes:write admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _get(client, "/notes/", f"{header}.{forged}.{signature}").status_code == 401


def test_r6_an_algorithm_outside_the_allow_list_is_refused(client, provider, settings):
    settings.RESOURCE_APP_ALGORITHMS = ["ES256"]
    assert _get(client, "/notes/", mint()).status_code == 401  # RS256 is not allowed here


def test_r6_es256_is_accepted_when_allowed(client, provider):
    provider.keys = [signing_key(), signing_key("ec-1", kty="EC")]
    assert _get(client, "/notes/", mint(key=signing_key("ec-1", kty="EC"))).status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_r6_a_missing_scope_is_insufficient_scope(client, provider, url):
    response = _get(client, url, mint({"scope": "profile"}))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in _challenge(response)
    assert 'scope="notes:read"' in _challenge(response)


def test_r6_scopes_per_method(client, provider):
    assert client.post("/notes/", HTTP_AUTHORIZATION=f"Bearer {mint()}").status_code == 403
    writer = mint({"scope": "notes:read notes:write"})
    assert client.post("/notes/", HTTP_AUTHORIZATION=f"Bearer {writer}").status_code == 201


@pytest.mark.parametrize("url", URLS)
def test_r8_a_token_in_the_query_string_is_refused(client, provider, url):
    token = mint()
    assert client.get(url, {"access_token": token}).status_code == 400
    # Even next to a valid header: a token in a URL must never work.
    response = client.get(url, {"access_token": token}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert 'error="invalid_request"' in _challenge(response)


@pytest.mark.parametrize("url", URLS)
def test_r8_a_token_in_a_form_body_is_refused(client, provider, url):
    for content_type in ("application/x-www-form-urlencoded", None):  # None: multipart
        if content_type:
            response = client.post(url, f"access_token={mint()}", content_type=content_type)
        else:
            response = client.post(url, {"access_token": mint()})
        assert response.status_code == 400
        assert 'error="invalid_request"' in _challenge(response)


def test_r8_other_schemes_are_not_a_bearer_token(client, provider):
    response = client.get("/notes/", HTTP_AUTHORIZATION=f"Basic {mint()}")
    assert response.status_code == 401
    assert _challenge(response) == 'Bearer realm="api"'


def test_r6_head_needs_the_scopes_of_get_and_an_unlisted_method_is_refused(client, provider):
    reader, nobody = mint(), mint({"scope": "profile"})
    assert client.head("/read-only/notes/", HTTP_AUTHORIZATION=f"Bearer {nobody}").status_code == 403
    assert client.head("/read-only/notes/", HTTP_AUTHORIZATION=f"Bearer {reader}").status_code == 200
    response = client.put("/read-only/notes/", HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert response.status_code == 403 and 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_r6_a_verified_token_is_not_verified_again_until_it_expires(client, provider, monkeypatch):
    import time as clock

    import time_machine

    from resource_app.internal import jwt_access_tokens

    checks = []
    real = jwt_access_tokens._validate
    monkeypatch.setattr(jwt_access_tokens, "_validate", lambda raw: checks.append(raw) or real(raw))
    token = mint({"exp": int(clock.time()) + 60})
    for _ in range(3):
        assert _get(client, "/notes/", token).status_code == 200
    assert len(checks) == 1  # one signature check, then the process's verified tokens
    with time_machine.travel(clock.time() + 60 + 31, tick=False):  # past exp and the leeway
        assert _get(client, "/notes/", token).status_code == 401
    assert len(checks) == 2


def test_r6_a_token_verified_for_one_service_is_not_taken_from_the_cache_by_another(
    client, provider, settings
):
    token = mint()
    assert _get(client, "/notes/", token).status_code == 200
    settings.RESOURCE_APP_AUDIENCE = "https://other-service.example.com/"
    assert _get(client, "/notes/", token).status_code == 401


def test_the_verified_token_cache_can_be_turned_off(client, provider, settings, monkeypatch):
    from resource_app.internal import jwt_access_tokens

    settings.RESOURCE_APP_JWT_CACHE_SIZE = 0
    checks = []
    real = jwt_access_tokens._validate
    monkeypatch.setattr(jwt_access_tokens, "_validate", lambda raw: checks.append(raw) or real(raw))
    token = mint()
    for _ in range(2):
        assert _get(client, "/notes/", token).status_code == 200
    assert len(checks) == 2
