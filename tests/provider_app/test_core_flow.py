"""The authorization code flow end to end over HTTP: PKCE, nonce, ID token, refresh, userinfo."""

from __future__ import annotations

import pytest

from tests.oauth_helpers import (
    api_me,
    at_hash,
    code_flow,
    fetch_jwks,
    post_refresh,
    validate_id_token,
)

pytestmark = pytest.mark.django_db


def test_code_flow_with_pkce_and_nonce_gives_a_valid_id_token(client, user, application):
    request, body = code_flow(client, user, application)
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    claims = validate_id_token(
        client,
        body["id_token"],
        audience=application.client_id,
        nonce=request.nonce,
        access_token=body["access_token"],
    )
    assert claims["sub"] == str(user.pk)


def test_id_token_signed_with_a_key_published_in_the_jwks(client, user, application):
    from jwcrypto import jws

    _request, body = code_flow(client, user, application)
    _discovery, keyset = fetch_jwks(client)
    token = jws.JWS()
    token.deserialize(body["id_token"])
    header = token.jose_header
    assert header["alg"] == "RS256"
    assert keyset.get_key(header["kid"]) is not None
    for key in keyset["keys"]:
        assert not key.has_private, "the JWKS must never publish a private key"


def test_id_token_with_a_tampered_payload_fails_validation(client, user, application):
    from jwcrypto.jws import InvalidJWSSignature
    from jwcrypto.jwt import JWTMissingKey

    request, body = code_flow(client, user, application)
    header, payload, signature = body["id_token"].split(".")
    tampered = ".".join(
        [header, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], signature]
    )
    # Against a key set, jwcrypto reports "no key verifies this signature" as a missing key.
    with pytest.raises((InvalidJWSSignature, JWTMissingKey)):
        validate_id_token(
            client, tampered, audience=application.client_id, nonce=request.nonce, access_token=None
        )


def test_at_hash_is_computed_per_oidc_core_3_1_3_6():
    # Worked example: the left-most 128 bits of SHA-256, base64url without padding.
    import base64
    import hashlib

    token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
    expected = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()[:16]).rstrip(b"=")
    assert at_hash(token) == expected.decode()
    assert len(at_hash(token)) == 22


def test_refresh_with_the_new_token_keeps_working(client, user, application):
    _request, body = code_flow(client, user, application)
    token = body["refresh_token"]
    for _ in range(3):
        response = post_refresh(client, application, token, basic=True)
        assert response.status_code == 200, response.content
        token = response.json()["refresh_token"]
        assert api_me(client, response.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_userinfo_by_get_and_by_post(client, user, application, method):
    _request, body = code_flow(client, user, application)
    client.logout()
    response = getattr(client, method)("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert response.status_code == 200, response.content
    claims = response.json()
    assert claims["sub"] == str(user.pk)
    assert claims["email"] == user.email
    assert claims["preferred_username"] == user.username


def test_userinfo_without_a_token_is_401(client):
    response = client.get("/o/userinfo/")
    assert response.status_code == 401


def test_userinfo_with_a_bad_token_is_401(client):
    response = client.get("/o/userinfo/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("scope", "present", "absent"),
    [
        ("openid", {"sub"}, {"name", "preferred_username", "given_name", "email", "email_verified"}),
        ("openid profile", {"sub", "name", "preferred_username", "given_name", "family_name"}, {"email"}),
        ("openid email", {"sub", "email", "email_verified"}, {"name", "preferred_username"}),
    ],
)
def test_claims_are_released_by_scope(client, user, application, scope, present, absent):
    request, body = code_flow(client, user, application, scope=scope)
    id_claims = validate_id_token(
        client, body["id_token"], audience=application.client_id, nonce=request.nonce, access_token=None
    )
    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    for claims in (id_claims, userinfo):
        assert present <= claims.keys(), claims
        assert not (absent & claims.keys()), claims
    if scope == "openid":
        assert set(userinfo) == {"sub"}


def test_email_is_never_claimed_verified(client, user, application):
    _request, body = code_flow(client, user, application, scope="openid email")
    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    assert userinfo["email_verified"] is False
