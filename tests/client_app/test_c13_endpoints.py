"""C13: every endpoint client_app calls (from discovery or the admin) is https (loopback only in
DEBUG) and resolves to no private, loopback or link-local address unless a setting allows it; the
code, the PKCE verifier and the client secret never go anywhere else."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from client_app.exceptions import ConfigurationError
from client_app.internal import endpoints
from tests.client_app.conftest import error_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production_like(settings):
    settings.DEBUG = False
    settings.CLIENT_APP_ALLOW_LOOPBACK_ENDPOINTS = False


@pytest.fixture
def dns(monkeypatch):
    """Hostnames the test decides the addresses of."""
    table: dict[str, str] = {}
    real = endpoints.resolve

    def resolve(host, port):
        if host in table:
            return [ipaddress.ip_address(table[host])]
        return real(host, port)

    monkeypatch.setattr(endpoints, "resolve", resolve)
    return table


def _token_endpoint_at(flow, url: str) -> list:
    """Point the provider's token endpoint at ``url``; returns the requests that reach it."""
    reached: list = []
    flow.fake.mock.add_callback(
        responses.POST, url, lambda request: (reached.append(request), (500, {}, ""))[1]
    )
    flow.provider.token_endpoint = url
    flow.provider.save()
    return reached


def _attempt_login(flow):
    """Start a login and, if it starts, come back with a code: the first refusal is the answer
    (an http endpoint is refused when the metadata is read, before the login even starts)."""
    start = flow.client.post(f"/client/{flow.provider.slug}/login/")
    if start.status_code != 302:
        return start
    params = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    flow.fake.last_nonce = params.get("nonce")
    return flow.callback(params)


@pytest.mark.parametrize(
    ("url", "address", "code"),
    [
        ("http://op.example/plain-token", "93.184.215.14", "insecure_endpoint"),
        ("https://internal.example/token", "10.0.0.5", "private_endpoint"),
        ("https://metadata.example/token", "169.254.169.254", "private_endpoint"),
        ("https://sneaky.example/token", "127.0.0.1", "private_endpoint"),
        ("https://v6.example/token", "fd00::1", "private_endpoint"),
        ("https://169.254.169.254/latest/meta-data", None, "private_endpoint"),
    ],
)
def test_c13_the_code_and_secret_never_go_to_an_insecure_or_internal_endpoint(flow, dns, url, address, code):
    host = url.split("/")[2]
    if address:
        dns[host] = address
    reached = _token_endpoint_at(flow, url)
    response = _attempt_login(flow)
    assert response.status_code == 400
    assert error_code(response) == code
    assert reached == []
    assert flow.fake.token_requests == []


def test_c13_a_private_network_is_allowed_by_the_setting_and_stays_https(flow, dns, settings):
    settings.CLIENT_APP_ALLOW_PRIVATE_ENDPOINTS = True
    dns["internal.example"] = "10.0.0.5"
    reached = _token_endpoint_at(flow, "https://internal.example/token")
    _attempt_login(flow)
    assert len(reached) == 1  # allowed: the call was made (the mock then answers 500)
    with pytest.raises(ConfigurationError):
        endpoints.check_server_endpoint("http://internal.example/token", what="token")


def test_c13_loopback_only_in_debug_or_by_setting(settings):
    with pytest.raises(ConfigurationError) as caught:
        endpoints.check_server_endpoint("http://127.0.0.1:8000/o/token/", what="token")
    assert caught.value.code == "insecure_endpoint"
    with pytest.raises(ConfigurationError):
        endpoints.check_server_endpoint("https://localhost/o/token/", what="token")
    settings.DEBUG = True
    endpoints.check_server_endpoint("http://127.0.0.1:8000/o/token/", what="token")
    endpoints.check_server_endpoint("http://localhost:8000/o/token/", what="token")
    settings.DEBUG = False
    settings.CLIENT_APP_ALLOW_LOOPBACK_ENDPOINTS = True
    endpoints.check_server_endpoint("http://localhost:8000/o/token/", what="token")
    with pytest.raises(ConfigurationError):  # loopback names only: http elsewhere stays refused
        endpoints.check_server_endpoint("http://op.example/token", what="token")


def test_c13_a_browser_endpoint_from_discovery_must_be_https(flow):
    flow.provider.authorization_endpoint = "http://op.example/authorize"
    flow.provider.save()
    response = flow.client.post(f"/client/{flow.provider.slug}/login/")
    assert response.status_code == 400
    assert error_code(response) == "insecure_endpoint"
    assert "Location" not in response


def test_c13_every_address_of_a_name_must_be_public(monkeypatch):
    monkeypatch.setattr(
        endpoints,
        "resolve",
        lambda host, port: [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("192.168.1.1")],
    )
    with pytest.raises(ConfigurationError) as caught:
        endpoints.check_server_endpoint("https://rebind.example/token", what="token")
    assert caught.value.code == "private_endpoint"
