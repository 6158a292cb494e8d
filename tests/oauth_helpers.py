"""Helpers shared by the suite: drive the authorization code flow through Django's test client, obtain
tokens, and sign a browser in with its second factor passed."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: str = "openid profile email"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    code_verifier: str = ""
    code_challenge: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.code_verifier:
            self.code_verifier, self.code_challenge = pkce_pair()

    def params(self) -> dict:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        params.update(self.extra)
        return {k: v for k, v in params.items() if v is not None}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(client, request: AuthorizationRequest, *, allow: bool = True):
    """GET the authorization endpoint, then POST the consent form if it is shown. Returns the final
    response (a redirect to the client when the request was valid)."""
    response = client.get("/o/authorize/", request.params())
    if response.status_code != 200:
        return response
    data = consent_form(response)
    if allow:
        data["allow"] = "Authorize"
    return client.post("/o/authorize/", data)


def get_code(client, request: AuthorizationRequest) -> str:
    response = authorize(client, request)
    assert response.status_code == 302, response
    params = query_of(response["Location"])
    assert "code" in params, params
    return params["code"]


def code_form(application, request: AuthorizationRequest, code: str, **overrides) -> dict:
    """The token request that redeems ``code`` (RFC 6749 4.1.3, PKCE verifier; secret in the body);
    an override of None leaves a field out."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        "client_id": application.client_id,
        "client_secret": application.raw_secret,
        "code_verifier": request.code_verifier,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_token(client, form: dict, *, basic: bool = False):
    """POST ``form`` to the token endpoint; ``basic`` moves its client_id and client_secret into an
    HTTP Basic header (client_secret_basic) instead of the body (client_secret_post)."""
    if not basic:
        return client.post("/o/token/", form)
    form = dict(form)
    authorization = basic_auth(form.pop("client_id"), form.pop("client_secret"))
    return client.post("/o/token/", form, HTTP_AUTHORIZATION=authorization)


def exchange(
    client, application, request: AuthorizationRequest, code: str, *, basic: bool = False, **overrides
):
    return post_token(client, code_form(application, request, code, **overrides), basic=basic)


def request_for(application, *, resource: str | None = None, **fields) -> AuthorizationRequest:
    """An authorization request of ``application`` to its registered redirect URI (RFC 8707
    ``resource`` if given)."""
    if resource:
        fields["extra"] = {**fields.get("extra", {}), "resource": resource}
    return AuthorizationRequest(application.client_id, application.redirect_uris, **fields)


def signed_in_code(
    client, user, application, *, logout: bool = False, **request_fields
) -> tuple[AuthorizationRequest, str]:
    """Sign ``user`` in on ``client`` (password session, no second factor) and get a code;
    ``logout`` ends the session once the code is issued."""
    client.force_login(user)
    request = request_for(application, **request_fields)
    code = get_code(client, request)
    if logout:
        client.logout()
    return request, code


def authorize_and_exchange(client, application, **request_fields) -> tuple[AuthorizationRequest, dict]:
    """In a browser already signed in: authorize, redeem the code; the request and the token
    response (asserted 200)."""
    request = request_for(application, **request_fields)
    response = exchange(client, application, request, get_code(client, request))
    assert response.status_code == 200, response.content
    return request, response.json()


def code_flow(client, user, application, **request_fields) -> tuple[AuthorizationRequest, dict]:
    """Sign ``user`` in (no second factor), authorize and redeem the code."""
    client.force_login(user)
    return authorize_and_exchange(client, application, **request_fields)


def issue_tokens(client, user, application, *, logout: bool = False, **request_fields) -> dict:
    """The token response of a whole code flow; ``logout`` ends the browser's session afterwards."""
    _request, tokens = code_flow(client, user, application, **request_fields)
    if logout:
        client.logout()
    return tokens


def refresh_form(application, refresh_token: str, **overrides) -> dict:
    """A refresh request (RFC 6749 6) with the client's secret in the body."""
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": application.client_id,
        "client_secret": application.raw_secret,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_refresh(client, application, refresh_token: str, *, basic: bool = False, **overrides):
    return post_token(client, refresh_form(application, refresh_token, **overrides), basic=basic)


def client_credentials(client, application, secret: str | None = None, **data):
    """A client_credentials token request (RFC 6749 4.4) authenticated with HTTP Basic."""
    return client.post(
        "/o/token/",
        {"grant_type": "client_credentials", **data},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret or application.raw_secret),
    )


def introspect(client, caller, token: str, **data):
    """An RFC 7662 introspection request by ``caller``, authenticated with HTTP Basic."""
    return client.post(
        "/o/introspect/",
        {"token": token, **data},
        HTTP_AUTHORIZATION=basic_auth(caller.client_id, caller.raw_secret),
    )


def api_me(client, access_token: str, **extra):
    """The demo's protected API called with ``access_token`` as a bearer token."""
    return client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access_token}", **extra)


def consent_form(response) -> dict:
    """The hidden fields of the consent form on ``response`` (a test client's authorization page)."""
    form = response.context["form"]
    return {name: value for name, value in form.initial.items() if value is not None}


def basic_auth(client_id: str, client_secret: str) -> str:
    """An RFC 6749 2.3.1 ``Authorization: Basic`` value (form-urlencoded id and secret)."""
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def fetch_jwks(client):
    """The provider's JWKS, fetched over HTTP from the URL discovery names."""
    from jwcrypto import jwk

    discovery = client.get("/o/.well-known/openid-configuration").json()
    path = urlsplit(discovery["jwks_uri"]).path
    return discovery, jwk.JWKSet.from_json(client.get(path).content)


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: left half of SHA-256 of the access token, base64url without padding."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def validate_id_token(client, id_token: str, *, audience: str, nonce: str, access_token: str | None) -> dict:
    """Check an ID token as a relying party must (OIDC Core 3.1.3.7) and return its claims.

    The signature is verified with jwcrypto against the JWKS the provider serves (RS256 only).
    """
    import json
    import time

    from jwcrypto import jwt

    discovery, keyset = fetch_jwks(client)
    token = jwt.JWT(jwt=id_token, key=keyset, algs=["RS256"], check_claims={"exp": None})
    claims = json.loads(token.claims)
    assert token.token.jose_header["alg"] == "RS256"
    assert claims["iss"] == discovery["issuer"]
    assert claims["aud"] == audience or audience in claims["aud"]
    assert claims["exp"] > time.time()
    assert claims["iat"] <= time.time() + 5
    assert claims["nonce"] == nonce
    if access_token is not None:
        assert claims["at_hash"] == at_hash(access_token)
    return claims


def register_resource(identifier: str, *clients, scopes: str = "", token_format: str = "opaque", **extra):
    """A registered resource server (RFC 8707) that ``clients`` may ask tokens for."""
    from provider_app.models import ResourceServer

    server, _ = ResourceServer.objects.update_or_create(
        identifier=identifier,
        defaults={"name": identifier, "scopes": scopes, "token_format": token_format, **extra},
    )
    server.allowed_clients.add(*clients)
    return server


def rp_logout(client, params: dict, *, allow: bool = True):
    """RP-initiated logout as a browser does it: GET the confirmation page (asserted 200), POST its
    form with the Logout button (``allow``) or without it; returns both responses."""
    confirm = client.get("/o/logout/", params)
    assert confirm.status_code == 200, confirm.content[:300]
    data = {name: value for name, value in confirm.context["form"].initial.items() if value}
    if allow:
        data["allow"] = "Logout"
    return confirm, client.post("/o/logout/", data)


def verified_client(user):
    """A Django test client signed in as ``user`` with a second factor passed (the demo's admin site
    requires it; django-otp marks a verified session by the device id it stores)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="verified in tests", confirmed=True)
    browser = Client()
    browser.force_login(user)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return browser
