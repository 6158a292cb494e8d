"""C9: the code exchange authenticates with the secret server to server, with a timeout; every
provider error ends on a clear page, never a 500."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest
import requests
import responses

from client_app.internal.callback import AUTHORIZATION_ERRORS
from client_app.models import Provider, SocialAccount
from tests.client_app.conftest import error_code
from tests.client_app.fake_provider import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db


def form_of(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body).items()}


def test_c9_code_exchange_uses_http_basic_with_the_secret(flow):
    params = flow.start()
    flow.callback(params)
    (request,) = flow.fake.token_requests
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    body = form_of(request)
    assert "client_secret" not in body
    assert body["grant_type"] == "authorization_code"
    assert body["code"] == "the-code"
    assert body["redirect_uri"] == params["redirect_uri"]


def test_c9_client_secret_post(flow, provider):
    provider.token_endpoint_auth_method = Provider.AUTH_POST
    provider.save()
    flow.login()
    (request,) = flow.fake.token_requests
    assert "Authorization" not in request.headers
    assert form_of(request)["client_secret"] == CLIENT_SECRET
    assert form_of(request)["client_id"] == CLIENT_ID


def test_c9_every_call_to_the_provider_has_a_timeout(flow):
    flow.login()
    flow.client.get("/client/profile/")
    assert len(flow.fake.mock.calls) >= 4  # discovery, token, JWKS, UserInfo (twice)
    for call in flow.fake.mock.calls:
        assert call.request.req_kwargs["timeout"] is not None, call.request.url


@pytest.mark.parametrize("error", sorted(AUTHORIZATION_ERRORS))
def test_c9_authorization_errors_end_on_a_clear_page(flow, error):
    response = flow.callback(
        flow.start(), error=error, code=None, error_description="<b>click evil.example</b>"
    )
    assert response.status_code == 400
    assert error_code(response) == error
    page = response.content.decode()
    assert AUTHORIZATION_ERRORS[error] in page
    assert "evil.example" not in page  # the provider's free text is not echoed
    assert flow.fake.token_requests == []


def test_c9_access_denied_message(flow):
    response = flow.callback(flow.start(), error="access_denied", code=None)
    assert "You did not allow the sign-in" in response.content.decode()


def test_c9_unknown_error_code(flow):
    response = flow.callback(flow.start(), error="weird<script>", code=None)
    assert response.status_code == 400
    assert error_code(response) == "authorization_error"


def test_c9_missing_code(flow):
    assert error_code(flow.callback(flow.start(), code=None)) == "missing_code"


def _break_endpoint(fake, method: str, suffix: str, **kwargs) -> None:
    url = f"{fake.issuer}{suffix}"
    fake.mock.remove(method, url)
    fake.mock.add(method, url, **kwargs)


TOKEN_FAILURES = [
    ({"body": requests.Timeout("slow")}, "timeout"),
    ({"body": requests.ConnectionError("down")}, "network_error"),
    ({"body": "{not json", "status": 200}, "malformed_response"),
    ({"body": "[1, 2]", "status": 200}, "malformed_response"),
    ({"body": "<html>502</html>", "status": 502}, "malformed_response"),
    ({"json": {"error": "invalid_grant"}, "status": 400}, "invalid_grant"),
    ({"json": {"error": "invalid_client"}, "status": 401}, "invalid_client"),
    ({"json": {"token_type": "Bearer"}, "status": 200}, "malformed_response"),
    ({"json": {"access_token": "x", "token_type": "MAC"}, "status": 200}, "malformed_response"),
    ({"json": {"access_token": "x", "token_type": "Bearer", "expires_in": "soon"}}, "malformed_response"),
]

JWKS_FAILURES = [
    ({"body": requests.Timeout("slow")}, "timeout"),
    ({"body": "{oops", "status": 200}, "malformed_response"),
    ({"json": {"keys": [{"kty": "RSA"}]}, "status": 200}, "malformed_response"),
    ({"body": "", "status": 500}, "http_error"),
]

USERINFO_FAILURES = [
    ({"body": requests.Timeout("slow")}, "timeout"),
    ({"body": "not json", "status": 200}, "malformed_response"),
    ({"body": "", "status": 401}, "http_error"),
]


@pytest.mark.parametrize(
    ("method", "suffix", "failure", "code"),
    [(responses.POST, "/token", *case) for case in TOKEN_FAILURES]
    + [(responses.GET, "/jwks", *case) for case in JWKS_FAILURES]
    + [(responses.GET, "/userinfo", *case) for case in USERINFO_FAILURES],
    ids=str,
)
def test_c9_token_jwks_and_userinfo_failures_end_on_a_clear_page(flow, method, suffix, failure, code):
    params = flow.start()
    _break_endpoint(flow.fake, method, suffix, **failure)
    response = flow.callback(params)
    assert response.status_code in (400, 502)
    assert error_code(response) == code
    assert SocialAccount.objects.count() == 0


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ({"body": requests.Timeout("slow")}, "timeout"),
        ({"body": "{", "status": 200}, "malformed_response"),
        ({"body": "", "status": 404}, "http_error"),
    ],
    ids=str,
)
def test_c9_discovery_failures_at_login_start_end_on_a_clear_page(
    client, provider, fake_provider, failure, code
):
    _break_endpoint(fake_provider, responses.GET, "/.well-known/openid-configuration", **failure)
    response = client.post(f"/client/{provider.slug}/login/")
    assert response.status_code == 502
    assert error_code(response) == code


def test_c9_timeout_setting_reaches_requests(flow, settings):
    settings.CLIENT_APP_HTTP_TIMEOUT = (1.5, 2.5)
    flow.start()
    assert flow.fake.mock.calls[0].request.req_kwargs["timeout"] == (1.5, 2.5)


def test_c9_malformed_jwks_is_not_cached(flow):
    params = flow.start()
    _break_endpoint(flow.fake, responses.GET, "/jwks", json={"keys": [{"kty": "RSA"}]})
    assert error_code(flow.callback(params)) == "malformed_response"
    flow.fake.mock.remove(responses.GET, f"{flow.fake.issuer}/jwks")
    flow.fake.mock.add_callback(responses.GET, f"{flow.fake.issuer}/jwks", flow.fake._jwks)
    response = flow.login()
    assert response.status_code == 302, error_code(response)


def test_c9_discovery_is_cached(flow):
    flow.login()
    flow.client.logout()
    flow.login()
    assert flow.fake.calls_to("/.well-known/openid-configuration") == 1
    assert flow.fake.calls_to("/jwks") == 1
