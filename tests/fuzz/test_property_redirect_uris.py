"""P1 fuzzed: of every URI derived from a registered redirect URI, only the exact one (or, for a
loopback IP URI, the same URI on another port) is accepted; anything else gets the error page and
never a redirect. Hypothesis builds the variants; the authorization endpoint judges them."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provider_app.internal.clients import is_registered_redirect_uri
from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import AuthorizationRequest

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

REGISTERED = "https://client.example.com/callback?tenant=a"
LOOPBACK = "http://127.0.0.1/cb"

MUTATIONS = [
    lambda uri: uri.replace("https://", "http://"),
    lambda uri: uri.replace("client.example.com", "CLIENT.example.com"),
    lambda uri: uri.replace("client.example.com", "client.example.com.evil.test"),
    lambda uri: uri.replace("client.example.com", "evil.test"),
    lambda uri: uri.replace("://", "://user@"),
    lambda uri: uri.replace("://", "://client.example.com@"),
    lambda uri: uri.replace("/callback", "/callback/"),
    lambda uri: uri.replace("/callback", "/Callback"),
    lambda uri: uri.replace("/callback", "/callback;x=1"),
    lambda uri: uri.replace("/callback", "/callback/../callback"),
    lambda uri: uri.replace("/callback", "/%63allback"),
    lambda uri: uri.replace("/callback", "//callback"),
    lambda uri: uri.replace("client.example.com", "client.example.com:443"),
    lambda uri: uri.replace("client.example.com", "client.example.com:8443"),
    lambda uri: uri.replace("tenant=a", "tenant=b"),
    lambda uri: uri.replace("tenant=a", "tenant=a&x=1"),
    lambda uri: uri.replace("?tenant=a", ""),
    lambda uri: uri + "#fragment",
    lambda uri: uri + "&",
    lambda uri: " " + uri,
    lambda uri: uri + " ",
    lambda uri: uri.upper(),
    lambda uri: uri.replace("127.0.0.1", "localhost"),
    lambda uri: uri.replace("127.0.0.1", "127.0.0.2"),
    lambda uri: uri.replace("127.0.0.1", "127.0.0.1:8080"),
    lambda uri: uri.replace("127.0.0.1", "127.0.0.1:65535"),
    lambda uri: uri.replace("127.0.0.1", "user@127.0.0.1:8080"),
    lambda uri: uri.replace("/cb", "/cb/"),
    lambda uri: uri.replace("http://", "https://"),
]


def accepted(uri: str, registered: str) -> bool:
    """The rule P1 states: exact match, or a loopback IP URI differing only by its port."""
    if uri == registered:
        return True
    if registered.startswith("http://127.0.0.1/"):
        rest = registered[len("http://127.0.0.1") :]
        prefix = "http://127.0.0.1:"
        if uri.startswith(prefix) and uri.endswith(rest):
            port = uri[len(prefix) : len(uri) - len(rest)]
            return port.isdigit() and 0 < int(port) < 65536
    return False


variants = st.builds(
    lambda registered, mutations: _apply(registered, mutations),
    st.sampled_from([REGISTERED, LOOPBACK]),
    st.lists(st.sampled_from(MUTATIONS), min_size=0, max_size=3),
) | st.tuples(st.sampled_from([REGISTERED, LOOPBACK]), st.text(max_size=60)).map(
    lambda pair: (pair[0], pair[1])
)


def _apply(registered: str, mutations) -> tuple[str, str]:
    uri = registered
    for mutation in mutations:
        uri = mutation(uri)
    return registered, uri


@pytest.fixture
def clients(client):
    user = UserFactory()
    client.force_login(user)
    return {
        REGISTERED: ApplicationFactory(redirect_uris=REGISTERED),
        LOOPBACK: ApplicationFactory(redirect_uris=LOOPBACK, client_type="public"),
    }


@settings(
    max_examples=int(os.environ.get("FUZZ_PROPERTY_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(variant=variants)
def test_p1_fuzzed_redirect_uris_accepted_only_when_exact(client, clients, variant):
    registered, uri = variant
    expected = accepted(uri, registered)
    assert is_registered_redirect_uri(uri, [registered]) == expected, uri
    application = clients[registered]
    response = client.get("/o/authorize/", AuthorizationRequest(application.client_id, uri).params())
    assert response.status_code < 500
    if expected:
        assert response.status_code == 200 and "form" in response.context, (uri, response.status_code)
    else:
        # The provider's own error page: never a redirect, least of all to the variant (P2).
        assert response.status_code == 400, (uri, response.status_code, response.get("Location"))
        assert "Location" not in response
