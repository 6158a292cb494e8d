"""End-to-end fixtures: provider_app and client_app on one live server, as two parties.

The provider is reached as ``http://localhost:<port>`` (issuer ``http://localhost:<port>/o``) and
the client as ``http://127.0.0.1:<port>``: cookies are per host name, so a browser keeps two
separate sessions, exactly as in the demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from django.core.cache import cache

from client_app.models import Provider
from tests.browser import submit
from tests.factories import USER_PASSWORD, ApplicationFactory, UserFactory


@dataclass
class Parties:
    provider_origin: str
    client_origin: str
    application: object
    provider: Provider
    user: object

    @property
    def issuer(self) -> str:
        return f"{self.provider_origin}/o"


@pytest.fixture
def parties(live_server, transactional_db) -> Parties:
    cache.clear()
    port = urlsplit(live_server.url).port
    provider_origin, client_origin = f"http://localhost:{port}", f"http://127.0.0.1:{port}"
    application = ApplicationFactory(
        name="E2E client",
        redirect_uris=f"{client_origin}/client/demo/callback/",
        post_logout_redirect_uris=f"{client_origin}/client/logged-out/",
    )
    provider = Provider.objects.create(
        name="Demo Provider",
        slug="demo",
        issuer=f"{provider_origin}/o",
        client_id=application.client_id,
        client_secret=application.raw_secret,
        scopes="openid profile email",
        logout_at_provider=True,
        revoke_tokens_on_logout=True,
    )
    user = UserFactory(username="alice-e2e", first_name="Alice", last_name="Example")
    yield Parties(provider_origin, client_origin, application, provider, user)
    cache.clear()


class Browser:
    """A requests session that follows what a person would click. No JavaScript is needed."""

    def __init__(self, parties: Parties) -> None:
        self.parties = parties
        self.session = requests.Session()

    def submit(self, response: requests.Response, **options) -> requests.Response:
        """Submit a form of the page (``tests.browser.submit``)."""
        return submit(self.session, response, **options)

    def start_login(self, next_url: str = "/client/profile/") -> requests.Response:
        """Client sign-in page, press "Log in with Demo Provider", land on the provider's login."""
        page = self.session.get(
            f"{self.parties.client_origin}/client/", params={"next": next_url}, timeout=30
        )
        assert "Log in with Demo Provider" in page.text
        return self.submit(page)

    def sign_in_at_provider(self, login_page: requests.Response) -> requests.Response:
        assert urlsplit(login_page.url).netloc == urlsplit(self.parties.provider_origin).netloc, (
            login_page.url
        )
        return self.submit(login_page, username=self.parties.user.username, password=USER_PASSWORD)

    def consent(self, consent_page: requests.Response, *, allow: bool = True) -> requests.Response:
        """Press "Authorize", or the other button (the form without ``allow``)."""
        return self.submit(consent_page, button="allow" if allow else None)

    def full_login(self) -> requests.Response:
        return self.consent(self.sign_in_at_provider(self.start_login()))


@pytest.fixture
def browser(parties) -> Browser:
    return Browser(parties)


@pytest.fixture
def provider_issuer(live_server, transactional_db):
    """provider_app's issuer on the live server, for a service (resource_app) in this process; the
    service's and the provider's process-wide key caches start and end empty."""
    from provider_app.internal import signing_keys
    from resource_app.internal import metadata
    from resource_app.internal.jwks import key_cache

    def forget() -> None:
        key_cache.forget()
        metadata.forget()
        signing_keys.forget()

    forget()
    yield f"http://localhost:{urlsplit(live_server.url).port}/o"
    forget()


def client_credentials_token(issuer: str, client, resource: str, scope: str = "notes:read") -> str:
    """An access token for ``resource`` from the live provider (RFC 8707, client_credentials)."""
    response = requests.post(
        f"{issuer}/token/",
        data={"grant_type": "client_credentials", "scope": scope, "resource": resource},
        auth=(client.client_id, client.raw_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
