"""C5: ID token signature, algorithm allow-list, iss/aud/azp/exp/iat, JWKS refresh, UserInfo sub."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from jwcrypto import jwk

from client_app.models import SocialAccount
from tests.client_app.conftest import error_code
from tests.client_app.fake_provider import sign, unsigned

pytestmark = pytest.mark.django_db


def login_with(flow, make_token):
    """Start a login, let ``make_token(fake)`` build the ID token the provider returns, finish."""
    params = flow.start()
    flow.fake.id_token_override = make_token(flow.fake)
    return flow.callback(params)


def refused(response, code: str) -> bool:
    return response.status_code == 400 and error_code(response) == code and not SocialAccount.objects.exists()


def test_c5_valid_token_is_accepted(flow):
    response = login_with(flow, lambda fake: sign(fake.id_claims(), fake.key))
    assert response.status_code == 302, error_code(response)


def test_c5_forged_signature_is_refused(flow):
    attacker_key = jwk.JWK.generate(kty="RSA", size=2048, kid="default")  # same kid, other key
    assert refused(login_with(flow, lambda fake: sign(fake.id_claims(), attacker_key)), "bad_signature")


def test_c5_tampered_payload_is_refused(flow):
    def tampered(fake):
        header, _payload, signature = sign(fake.id_claims(), fake.key).split(".")
        claims = fake.id_claims(sub="admin")
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{payload}.{signature}"

    assert refused(login_with(flow, tampered), "bad_signature")


def test_c5_alg_none_is_refused(flow):
    def none_token(fake):
        return unsigned(fake.id_claims(), {"alg": "none", "typ": "JWT", "kid": "default"})

    assert refused(login_with(flow, none_token), "bad_alg")


def test_c5_hs256_signed_with_the_public_key_is_refused(flow):
    """The classic key-confusion attack: HMAC with the provider's public key as the secret."""

    def confused(fake):
        public_pem = fake.key.export_to_pem()
        header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "default"}).encode()).rstrip(
            b"="
        )
        payload = base64.urlsafe_b64encode(json.dumps(fake.id_claims()).encode()).rstrip(b"=")
        signing_input = header + b"." + payload
        mac = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
        return (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()

    assert refused(login_with(flow, confused), "bad_alg")


def test_c5_hs256_with_the_client_secret_is_refused(flow):
    def hmac_token(fake):
        key = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(flow.provider.client_secret.encode()).decode())
        return sign(fake.id_claims(), key, alg="HS256")

    assert refused(login_with(flow, hmac_token), "bad_alg")


def test_c5_algorithm_outside_the_allow_list_is_refused(flow):
    ec_key = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec")
    flow.fake.jwks_keys = [flow.fake.key, ec_key]
    assert refused(
        login_with(flow, lambda fake: sign(fake.id_claims(), ec_key, alg="ES256", kid="ec")), "bad_alg"
    )


def test_c5_es256_accepted_when_allowed(flow, provider):
    provider.id_token_signing_algs = "RS256 ES256"
    provider.save()
    ec_key = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec")
    flow.fake.jwks_keys = [flow.fake.key, ec_key]
    response = login_with(flow, lambda fake: sign(fake.id_claims(), ec_key, alg="ES256", kid="ec"))
    assert response.status_code == 302, error_code(response)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": None}, "expired"),
        ({"aud": "another-client"}, "bad_aud"),
        ({"aud": ["another-client"]}, "bad_aud"),
        ({"aud": ["rp-client", "another-client"]}, "bad_azp"),
        ({"azp": "another-client"}, "bad_azp"),
        ({"iss": "https://attacker.example"}, "bad_iss"),
        ({"iss": None}, "bad_iss"),
        ({"iat": int(time.time()) + 600}, "bad_iat"),
        ({"iat": int(time.time()) - 3600}, "bad_iat"),
        ({"iat": None}, "bad_iat"),
        ({"sub": None}, "bad_sub"),
        ({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, "bad_at_hash"),
    ],
    ids=lambda value: str(value),
)
def test_c5_claims_are_checked(flow, overrides, code):
    assert refused(login_with(flow, lambda fake: sign(fake.id_claims(**overrides), fake.key)), code)


def test_c5_multiple_audiences_with_our_azp_are_accepted(flow):
    response = login_with(
        flow, lambda fake: sign(fake.id_claims(aud=["rp-client", "api"], azp="rp-client"), fake.key)
    )
    assert response.status_code == 302, error_code(response)


def test_c5_small_clock_skew_is_tolerated(flow):
    now = int(time.time())
    response = login_with(flow, lambda fake: sign(fake.id_claims(iat=now + 30, exp=now - 30), fake.key))
    assert response.status_code == 302, error_code(response)


def test_c5_unknown_kid_refreshes_the_jwks_once(flow):
    flow.login()  # the JWKS is now cached
    flow.client.logout()
    assert flow.fake.calls_to("/jwks") == 1
    rotated = jwk.JWK.generate(kty="RSA", size=2048, kid="rotated")
    flow.fake.key = rotated  # the provider rotated its key: the cached JWKS lacks it
    response = flow.login()
    assert response.status_code == 302, error_code(response)
    assert flow.fake.calls_to("/jwks") == 2


def test_c5_unknown_kid_after_refresh_is_refused_without_more_fetches(flow):
    stranger = jwk.JWK.generate(kty="RSA", size=2048, kid="stranger")
    response = login_with(flow, lambda fake: sign(fake.id_claims(), stranger, kid="stranger"))
    assert refused(response, "unknown_key")
    assert flow.fake.calls_to("/jwks") == 2  # the cached fetch and one refresh, no more


def test_c5_missing_id_token_is_refused(flow):
    params = flow.start()
    flow.fake.token_body = {"access_token": "a" * 30, "token_type": "Bearer", "expires_in": 60}
    assert refused(flow.callback(params), "missing_id_token")


@pytest.mark.parametrize("raw", ["not-a-jwt", "a.b", "a.b.c.d.e", "e30.e30.", '{"payload": "x"}'])
def test_c5_malformed_id_tokens_are_refused(flow, raw):
    response = login_with(flow, lambda fake: raw)
    assert response.status_code == 400
    assert error_code(response) in {"malformed_id_token", "bad_alg"}


def test_c5_userinfo_sub_must_match(flow):
    flow.fake.userinfo = {"sub": "someone-else"}
    assert refused(flow.login(), "userinfo_sub_mismatch")
