"""A fake provider for resource_app: signing keys, a JWKS, metadata and an introspection endpoint
served through ``responses`` (no network), and a helper that mints RFC 9068 access tokens."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
import responses
from django.core.cache import caches
from jwcrypto.common import json_encode
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from resource_app.internal import metadata
from resource_app.internal.deny_list import deny_list
from resource_app.internal.jwks import key_cache
from resource_app.internal.jwt_access_tokens import _verified as verified_tokens

ISSUER = "https://provider.example.com/o"
AUDIENCE = "https://notes.example.com/"
JWKS_URI = ISSUER + "/.well-known/jwks.json"
INTROSPECTION = ISSUER + "/introspect/"
TOKEN_ENDPOINT = ISSUER + "/token/"

_KEYS: dict[str, JWK] = {}


def signing_key(kid: str = "key-1", kty: str = "RSA") -> JWK:
    """A private key (made once per test run: RSA generation is slow)."""
    if kid not in _KEYS:
        options = {"kty": "RSA", "size": 2048} if kty == "RSA" else {"kty": "EC", "crv": "P-256"}
        _KEYS[kid] = JWK.generate(kid=kid, use="sig", **options)
    return _KEYS[kid]


def mint(claims: dict | None = None, *, key: JWK | None = None, header: dict | None = None, drop=()) -> str:
    """A JWT access token as a provider issues it (RFC 9068 2), with overrides."""
    key = key or signing_key()
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "client_id": "web-client",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "scope": "notes:read profile",
        **(claims or {}),
    }
    for name in drop:
        body.pop(name, None)
    return sign(body, key, {"typ": "at+jwt", **(header or {})})


SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"


def mint_set(
    subject: dict | None = None,
    claims: dict | None = None,
    *,
    event: dict | None = None,
    key: JWK | None = None,
    header: dict | None = None,
    drop=(),
) -> str:
    """A revocation event as the provider sends it (docs/microservices.md): a CAEP session-revoked
    Security Event Token whose ``sub_id`` is ``subject`` (default: one access token's jti)."""
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "sub_id": subject or {"format": "jwt_id", "iss": ISSUER, "jti": uuid.uuid4().hex},
        "events": {SESSION_REVOKED: {"event_timestamp": now, **(event or {})}},
        **(claims or {}),
    }
    for name in drop:
        body.pop(name, None)
    return sign(body, key or signing_key(), {"typ": "secevent+jwt", **(header or {})})


def sign(body: dict, key: JWK, header: dict) -> str:
    protected = {"alg": "RS256" if key.get("kty") == "RSA" else "ES256", "kid": key.get("kid"), **header}
    protected = {k: v for k, v in protected.items() if v is not None}
    token = JWS(json.dumps(body))
    token.add_signature(key, alg=protected["alg"], protected=json_encode(protected))
    return token.serialize(compact=True)


class FakeProvider:
    """What the provider publishes; tests change it and count the calls."""

    def __init__(self, mocked: responses.RequestsMock) -> None:
        self.mocked = mocked
        self.keys = [signing_key()]
        self.cache_control = "max-age=3600"
        self.down = False
        self.introspection: dict = {"active": False}
        mocked.add_callback(responses.GET, JWKS_URI, callback=self._jwks)
        mocked.add_callback(
            responses.GET, ISSUER + "/.well-known/openid-configuration", callback=self._metadata
        )
        mocked.add_callback(responses.POST, INTROSPECTION, callback=self._introspect)

    def calls(self, url: str) -> int:
        return sum(call.request.url.split("?")[0] == url for call in self.mocked.calls)

    def _down(self):
        if self.down:
            raise requests.ConnectionError("the provider is down")

    def _jwks(self, request):
        self._down()
        body = {"keys": [json.loads(key.export_public()) for key in self.keys]}
        return 200, {"Cache-Control": self.cache_control}, json.dumps(body)

    def _metadata(self, request):
        self._down()
        body = {"issuer": ISSUER, "jwks_uri": JWKS_URI, "introspection_endpoint": INTROSPECTION}
        body["token_endpoint"] = TOKEN_ENDPOINT
        return 200, {}, json.dumps(body)

    def _introspect(self, request):
        self._down()
        self.last_introspection_request = request
        return 200, {"Cache-Control": "no-store"}, json.dumps(self.introspection)


LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "resource-app-tests"}


@pytest.fixture
def provider(settings):
    # The service's own cache, whatever the project's default is (Redis in one CI stage).
    settings.CACHES = {**settings.CACHES, "resource-tests": LOCAL}
    settings.RESOURCE_APP_CACHE = "resource-tests"
    key_cache.forget()
    metadata.forget()
    verified_tokens.forget()
    deny_list.forget()
    caches["resource-tests"].clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield FakeProvider(mocked)
    key_cache.forget()
    metadata.forget()


@pytest.fixture(autouse=True)
def _service_urls(settings):
    settings.ROOT_URLCONF = "tests.resource_app.urls"
