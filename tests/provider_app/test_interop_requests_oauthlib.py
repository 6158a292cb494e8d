"""requests-oauthlib runs the whole code flow (PKCE S256, nonce) against a live server; the ID token
is validated with jwcrypto against the JWKS fetched from the provider."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

import pytest
import requests

from tests.factories import USER_PASSWORD, ApplicationFactory, UserFactory
from tests.provider_app.interop_browser import TIMEOUT, sign_in_and_approve

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REDIRECT_URI = "http://127.0.0.1:8766/callback"


def _validated_id_token(metadata: dict, token: dict, *, client_id: str, nonce: str) -> dict:
    from jwcrypto import jwk, jwt

    key_set = jwk.JWKSet.from_json(requests.get(metadata["jwks_uri"], timeout=TIMEOUT).text)
    id_token = jwt.JWT(
        jwt=token["id_token"],
        key=key_set,
        algs=metadata["id_token_signing_alg_values_supported"],
        check_claims={"iss": metadata["issuer"], "aud": client_id, "exp": None, "nonce": nonce},
    )
    claims = json.loads(id_token.claims)
    assert claims["iat"] <= time.time() + 5
    # OIDC Core 3.1.3.6: at_hash is the left half of SHA-256 of the access token.
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    return claims


def test_requests_oauthlib_completes_the_code_flow(live_server, monkeypatch):
    from requests_oauthlib import OAuth2Session

    # live_server speaks plain http; oauthlib refuses that unless told it is a test.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    user = UserFactory()
    application = ApplicationFactory(redirect_uris=REDIRECT_URI)
    metadata = requests.get(f"{live_server.url}/o/.well-known/openid-configuration", timeout=TIMEOUT).json()

    session = OAuth2Session(
        application.client_id, redirect_uri=REDIRECT_URI, scope=["openid", "profile", "email"], pkce="S256"
    )
    nonce = secrets.token_urlsafe(16)
    authorization_url, state = session.authorization_url(metadata["authorization_endpoint"], nonce=nonce)
    assert "code_challenge_method=S256" in authorization_url

    callback = sign_in_and_approve(authorization_url, REDIRECT_URI, user.username, USER_PASSWORD)
    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        client_secret=application.raw_secret,  # sent with HTTP Basic (client_secret_basic)
        timeout=TIMEOUT,
    )
    assert token["token_type"].lower() == "bearer"

    claims = _validated_id_token(metadata, token, client_id=application.client_id, nonce=nonce)
    assert claims["sub"] == str(user.pk)

    userinfo = session.post(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]

    refreshed = session.refresh_token(
        metadata["token_endpoint"],
        auth=(application.client_id, application.raw_secret),
        timeout=TIMEOUT,
    )
    assert refreshed["refresh_token"] != token["refresh_token"]

    revoked = requests.post(
        metadata["revocation_endpoint"],
        data={"token": refreshed["access_token"], "token_type_hint": "access_token"},
        auth=(application.client_id, application.raw_secret),
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 200
    assert session.get(f"{live_server.url}/api/me", timeout=TIMEOUT).status_code == 401


def test_requests_oauthlib_public_client_with_pkce_only(live_server, monkeypatch):
    from requests_oauthlib import OAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    user = UserFactory()
    application = ApplicationFactory(redirect_uris=REDIRECT_URI, client_type="public")
    metadata = requests.get(f"{live_server.url}/o/.well-known/openid-configuration", timeout=TIMEOUT).json()
    session = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["openid"], pkce="S256")
    nonce = secrets.token_urlsafe(16)
    authorization_url, _state = session.authorization_url(metadata["authorization_endpoint"], nonce=nonce)
    callback = sign_in_and_approve(authorization_url, REDIRECT_URI, user.username, USER_PASSWORD)
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, include_client_id=True, timeout=TIMEOUT
    )
    claims = _validated_id_token(metadata, token, client_id=application.client_id, nonce=nonce)
    assert claims["sub"] == str(user.pk)
