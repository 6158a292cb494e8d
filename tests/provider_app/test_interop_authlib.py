"""Authlib's requests client runs the whole code flow (PKCE S256, nonce) against a live server and
validates the ID token itself with the provider's JWKS (joserfc, as Authlib's OpenID mixin does)."""

from __future__ import annotations

import secrets

import pytest
import requests

from tests.factories import USER_PASSWORD, ApplicationFactory, UserFactory
from tests.provider_app.interop_browser import TIMEOUT, sign_in_and_approve

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REDIRECT_URI = "http://127.0.0.1:8765/callback"


def _validated_id_token(metadata: dict, token: dict, *, client_id: str, nonce: str):
    """OIDC Core 3.1.3.7 with Authlib's own claims classes, keys from the provider's JWKS."""
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.jwk import KeySet
    from joserfc.jws import JWSRegistry

    key_set = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=TIMEOUT).json())
    decoded = jwt.decode(
        token["id_token"],
        key=key_set,
        registry=JWSRegistry(algorithms=metadata["id_token_signing_alg_values_supported"]),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": client_id},
            "nonce": {"essential": True},
        },
        {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)  # exp, iat, iss, aud, nonce, at_hash
    return claims


def test_authlib_oauth2_session_completes_the_code_flow(live_server):
    from authlib.integrations.requests_client import OAuth2Session

    user = UserFactory()
    application = ApplicationFactory(redirect_uris=REDIRECT_URI)
    metadata = requests.get(f"{live_server.url}/o/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert metadata["issuer"] == f"{live_server.url}/o"

    session = OAuth2Session(
        client_id=application.client_id,
        client_secret=application.raw_secret,
        scope="openid profile email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    code_verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    authorization_url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )
    assert "code_challenge_method=S256" in authorization_url

    callback = sign_in_and_approve(authorization_url, REDIRECT_URI, user.username, USER_PASSWORD)
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=code_verifier
    )
    assert token["token_type"].lower() == "bearer"
    assert token["refresh_token"]

    claims = _validated_id_token(metadata, token, client_id=application.client_id, nonce=nonce)
    assert claims["sub"] == str(user.pk)

    userinfo = session.get(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]
    assert userinfo.json()["email"] == user.email

    refreshed = session.refresh_token(metadata["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert session.get(f"{live_server.url}/api/me", timeout=TIMEOUT).json()["sub"] == claims["sub"]


def test_authlib_sees_the_iss_of_the_authorization_response(live_server):
    """RFC 9207: the callback's iss equals the issuer Authlib discovered."""
    from urllib.parse import parse_qs, urlsplit

    from authlib.integrations.requests_client import OAuth2Session

    user = UserFactory()
    application = ApplicationFactory(redirect_uris=REDIRECT_URI, skip_authorization=True)
    metadata = requests.get(f"{live_server.url}/o/.well-known/openid-configuration", timeout=TIMEOUT).json()
    session = OAuth2Session(
        client_id=application.client_id,
        scope="openid",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = session.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)

    browser = requests.Session()
    from urllib.parse import urljoin

    from tests.browser import follow_until, submit

    login_page = follow_until(browser, url, REDIRECT_URI)
    after_login = submit(
        browser, login_page, allow_redirects=False, username=user.username, password=USER_PASSWORD
    )
    to_client = follow_until(browser, urljoin(after_login.url, after_login.headers["Location"]), REDIRECT_URI)
    params = parse_qs(urlsplit(to_client.headers["Location"]).query)
    assert params["iss"] == [metadata["issuer"]]
    assert params["code"]
