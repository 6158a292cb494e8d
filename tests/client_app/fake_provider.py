"""A fake OpenID provider for client_app's tests, on ``responses``: its keys are generated here.

It serves discovery, JWKS, token, UserInfo and revocation endpoints, signs ID tokens with its own
RSA key, and lets each test break one thing (a claim, the algorithm, the key, the JSON, a timeout).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import requests
import responses
from jwcrypto import jwk, jws

from tests.oauth_helpers import at_hash

ISSUER = "https://op.example.com"
CLIENT_ID = "rp-client"
CLIENT_SECRET = "rp-client-secret-" + "x" * 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(
    claims: dict[str, Any],
    key: jwk.JWK,
    *,
    alg: str = "RS256",
    kid: str | None = "default",
    typ: str | None = "JWT",
) -> str:
    """A compact JWS of ``claims`` signed with ``key`` (jwcrypto)."""
    header: dict[str, Any] = {"alg": alg, **({"typ": typ} if typ is not None else {})}
    if kid is not None:
        header["kid"] = kid
    token = jws.JWS(json.dumps(claims).encode())
    token.allowed_algs = [alg]
    token.add_signature(key, alg=alg, protected=json.dumps(header))
    return token.serialize(compact=True)


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """An ``alg: none`` token, built by hand since no JOSE library will make one."""
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


@dataclass
class FakeProvider:
    """State of the fake provider; tests change attributes to make it misbehave."""

    mock: responses.RequestsMock
    issuer: str = ISSUER
    client_id: str = CLIENT_ID
    key: jwk.JWK = field(default_factory=lambda: jwk.JWK.generate(kty="RSA", size=2048, kid="default"))
    sub: str = "user-123"
    claims: dict[str, Any] = field(default_factory=dict)  # extra or overriding ID token claims
    userinfo: dict[str, Any] = field(default_factory=dict)  # extra or overriding UserInfo members
    id_token_override: str | None = None
    token_status: int = 200
    token_body: dict[str, Any] | str | None = None
    iss_supported: bool = True
    access_token_counter: int = 0
    refresh_tokens: dict[str, bool] = field(default_factory=dict)  # refresh token -> still valid
    token_requests: list[requests.PreparedRequest] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    jwks_keys: list[jwk.JWK] | None = None
    last_nonce: str | None = None

    def __post_init__(self) -> None:
        self.mock.add_callback(
            responses.GET, f"{self.issuer}/.well-known/openid-configuration", self._discovery
        )
        self.mock.add_callback(responses.GET, f"{self.issuer}/jwks", self._jwks)
        self.mock.add_callback(responses.POST, f"{self.issuer}/token", self._token)
        self.mock.add_callback(responses.GET, f"{self.issuer}/userinfo", self._userinfo)
        self.mock.add_callback(responses.POST, f"{self.issuer}/revoke", self._revoke)

    # Endpoints -----------------------------------------------------------------------------------
    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "revocation_endpoint": f"{self.issuer}/revoke",
            "authorization_response_iss_parameter_supported": self.iss_supported,
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def _discovery(self, request):
        return 200, {"Content-Type": "application/json"}, json.dumps(self.discovery_document())

    def _jwks(self, request):
        keys = self.jwks_keys if self.jwks_keys is not None else [self.key]
        body = {"keys": [json.loads(k.export_public()) for k in keys]}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _token(self, request):
        self.token_requests.append(request)
        if self.token_body is not None:
            body = self.token_body if isinstance(self.token_body, str) else json.dumps(self.token_body)
            return self.token_status, {"Content-Type": "application/json"}, body
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        if form.get("grant_type") == "refresh_token":
            if not self.refresh_tokens.get(form.get("refresh_token", "")):
                return 400, {"Content-Type": "application/json"}, json.dumps({"error": "invalid_grant"})
            self.refresh_tokens[form["refresh_token"]] = False  # rotation: the old one is used up
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps(self.issue_tokens(with_id_token=False)),
            )
        return 200, {"Content-Type": "application/json"}, json.dumps(self.issue_tokens())

    def _userinfo(self, request):
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return 401, {}, ""
        body = {"sub": self.sub, "preferred_username": "ada", "email": "ada@example.com", **self.userinfo}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _revoke(self, request):
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        self.revoked.append(form.get("token", ""))
        return 200, {}, ""

    # Tokens --------------------------------------------------------------------------------------
    def issue_tokens(self, *, with_id_token: bool = True, expires_in: int = 3600) -> dict[str, Any]:
        self.access_token_counter += 1
        access_token = f"access-{self.access_token_counter}-" + "a" * 20
        refresh_token = f"refresh-{self.access_token_counter}-" + "r" * 20
        self.refresh_tokens[refresh_token] = True
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh_token,
            "scope": "openid profile email",
        }
        if with_id_token:
            body["id_token"] = self.id_token_override or self.id_token(access_token=access_token)
        return body

    def id_claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.sub,
            "aud": self.client_id,
            "exp": now + 300,
            "iat": now,
            "nonce": self.last_nonce,
        }
        claims.update(self.claims)
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def id_token(self, *, access_token: str | None = None, **overrides: Any) -> str:
        claims = self.id_claims(**overrides)
        if access_token:
            claims.setdefault("at_hash", at_hash(access_token))
        return sign(claims, self.key, kid=self.key.get("kid"))

    def calls_to(self, suffix: str) -> int:
        return sum(1 for call in self.mock.calls if call.request.url.split("?")[0].endswith(suffix))
