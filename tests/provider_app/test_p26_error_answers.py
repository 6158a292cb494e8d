"""P26: every error of the token, revocation and introspection endpoints is RFC 6749 5.2 JSON, and
of UserInfo an RFC 6750 3 challenge, whatever the method, content type, body encoding or headers."""

from __future__ import annotations

import pytest
from oauth2_provider.models import Application

from tests.factories import ApplicationFactory
from tests.oauth_helpers import basic_auth, client_credentials

pytestmark = pytest.mark.django_db

OAUTH_ENDPOINTS = ["/o/token/", "/o/revoke_token/", "/o/introspect/"]
FORM = "application/x-www-form-urlencoded"


def _assert_oauth_json_error(response, status: int = 400, error: str = "invalid_request") -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store"


def _assert_bearer_challenge(response, status: int, error: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["WWW-Authenticate"].startswith(f'Bearer error="{error}"'), response["WWW-Authenticate"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "shift_jis"])
@pytest.mark.parametrize("path", OAUTH_ENDPOINTS)
def test_p26_a_form_body_in_another_charset_gets_a_json_error(
    client, settings, application, path, charset, debug
):
    # Django refuses form bodies that are not UTF-8 (BadRequest): an HTML 400, or 500 with DEBUG on.
    settings.DEBUG = debug
    body = "grant_type=client_credentials&token=\u00e9\u30ab".encode(charset, "replace")
    response = client.generic(
        "POST",
        path,
        body,
        content_type=f"{FORM}; charset={charset}",
        HTTP_AUTHORIZATION=basic_auth(application.client_id, application.raw_secret),
    )
    _assert_oauth_json_error(response)


@pytest.mark.parametrize("path", OAUTH_ENDPOINTS)
def test_p26_too_many_form_fields_get_a_json_error(client, settings, path):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    body = "&".join(f"field{i}=1" for i in range(20)).encode()
    _assert_oauth_json_error(client.generic("POST", path, body, content_type=FORM))


@pytest.mark.parametrize("path", OAUTH_ENDPOINTS)
def test_p26_a_body_larger_than_django_reads_gets_a_json_error(client, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    _assert_oauth_json_error(client.generic("POST", path, b"token=" + b"x" * 500, content_type=FORM))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", OAUTH_ENDPOINTS)
def test_p26_another_method_gets_a_json_error_with_allow(client, path, method):
    response = client.generic(method, path, b"token=x", content_type=FORM)
    _assert_oauth_json_error(response, status=405)
    assert response["Allow"] == "POST, OPTIONS"


def test_p26_userinfo_with_another_method_or_charset_gets_a_bearer_challenge(client):
    _assert_bearer_challenge(client.generic("PUT", "/o/userinfo/", b""), 405, "invalid_request")
    body = "access_token=caf\u00e9".encode("latin-1")
    response = client.generic("POST", "/o/userinfo/", body, content_type=f"{FORM}; charset=latin-1")
    _assert_bearer_challenge(response, 400, "invalid_request")


def test_p26_userinfo_with_a_client_credentials_token_is_invalid_token(client):
    # OIDC Core 5.3: UserInfo describes an end-user; a client_credentials token has none (was a 500).
    service = ApplicationFactory(authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS)
    response = client_credentials(client, service, scope="openid")
    assert response.status_code == 200, response.content
    access_token = response.json()["access_token"]
    for method in ("get", "post"):
        answer = getattr(client, method)("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access_token}")
        _assert_bearer_challenge(answer, 401, "invalid_token")
