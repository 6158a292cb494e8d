"""Fixtures for client_app's tests: a fake provider (``responses``) and a registered Provider."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from client_app.internal import endpoints
from client_app.models import Provider
from tests.client_app.fake_provider import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeProvider


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


PUBLIC_ADDRESS = ipaddress.ip_address("93.184.215.14")


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """The fake providers' names (op.example, ...) resolve to a public address, as a real
    provider's would; IP literals and localhost resolve for real (C13 checks every call)."""
    real = endpoints.resolve

    def resolve(host, port):
        if host in endpoints.LOOPBACK_NAMES:
            return real(host, port)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return [PUBLIC_ADDRESS]
        return real(host, port)

    monkeypatch.setattr(endpoints, "resolve", resolve)


@pytest.fixture
def fake_provider():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeProvider(mock)


@pytest.fixture
def provider(db):
    return Provider.objects.create(
        name="Example OP",
        slug="example",
        issuer=ISSUER,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes="openid profile email",
        logout_at_provider=True,
    )


def provider_change_form(provider: Provider, **changes) -> dict:
    """The admin's change form for ``provider`` as the browser posts it, with ``changes`` (None
    leaves a field out, as an unticked checkbox)."""
    form = {
        "name": provider.name,
        "slug": provider.slug,
        "enabled": "on",
        "position": 0,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": provider.scopes,
        "extra_authorization_params": "{}",
        "id_token_signing_algs": "RS256",
        "subject_claim": "sub",
        "use_discovery": "on",
        "new_client_secret": "",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


class Flow:
    """Drives client_app through Django's test client: start a login, come back with a code."""

    def __init__(self, client, provider: Provider, fake: FakeProvider) -> None:
        self.client, self.provider, self.fake = client, provider, fake

    def start(self, next_url: str | None = None, *, action: str = "login") -> dict[str, str]:
        """POST the start button; returns the authorization request's parameters."""
        data = {"next": next_url} if next_url is not None else {}
        response = self.client.post(f"/client/{self.provider.slug}/{action}/", data)
        assert response.status_code == 302, response.content
        location = response["Location"]
        assert location.startswith(f"{self.provider.issuer}/authorize?"), location
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        self.fake.last_nonce = params.get("nonce")
        return params

    def callback(self, params: dict[str, str], **extra: str):
        query = {"code": "the-code", "state": params["state"], "iss": self.provider.issuer}
        query.update(extra)
        query = {k: v for k, v in query.items() if v is not None}
        return self.client.get(f"/client/{self.provider.slug}/callback/", query)

    def login(self, next_url: str | None = None):
        return self.callback(self.start(next_url))


@pytest.fixture
def flow(client, provider, fake_provider):
    return Flow(client, provider, fake_provider)


def error_code(response) -> str:
    match = re.search(r'id="client-error-code">([^<]*)<', response.content.decode())
    return match.group(1) if match else ""
