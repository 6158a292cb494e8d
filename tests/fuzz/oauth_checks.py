"""What every answer of the provider must look like, whatever was sent (RFC 6749 5.2, RFC 6750 3)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# RFC 6749 5.2 (and 4.1.2.1), RFC 7009 2.2.1, RFC 8707 2, OIDC Core 3.1.2.6.
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "invalid_target",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "login_required",
    "consent_required",
    "interaction_required",
    "invalid_request_object",
}
BEARER_ERRORS = {"invalid_request", "invalid_token", "insufficient_scope"}  # RFC 6750 3.1
# RFC 6749 5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$")
OAUTH_JSON_ENDPOINTS = ("/o/token/", "/o/revoke_token/", "/o/introspect/")
BEARER_ENDPOINTS = ("/o/userinfo/", "/api/me")


def header(response, name: str) -> str:
    """A header of a schemathesis response (lists of values, lower-case names) or a requests one."""
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return ""


def check_no_server_error(path: str, response) -> None:
    assert response.status_code < 500, f"{response.status_code} from {path}: {response.text[:300]}"


def check_oauth_error(path: str, response) -> None:
    """Token, revocation, introspection: every 4xx is an RFC 6749 5.2 JSON error (P26), a 405 (a
    method other than POST) too, with ``Allow``."""
    if response.status_code < 400:
        return
    if response.status_code == 405:
        assert "POST" in header(response, "Allow"), response.headers
    assert header(response, "Content-Type").startswith("application/json"), response.headers
    body = response.json()
    assert body.get("error") in OAUTH_ERRORS, body
    assert DESCRIPTION.match(body.get("error_description", "")), body
    assert header(response, "Cache-Control") == "no-store" or path != "/o/token/", response.headers


def check_bearer_error(path: str, response) -> None:
    """UserInfo and the API: 401/403 carry an RFC 6750 3 ``WWW-Authenticate: Bearer`` challenge."""
    if response.status_code not in (400, 401, 403):
        return
    challenge = header(response, "WWW-Authenticate")
    assert challenge.startswith("Bearer"), (response.status_code, response.headers, response.text[:200])
    error = re.search(r'error="([^"]*)"', challenge)
    if error:
        assert error.group(1) in BEARER_ERRORS, challenge


def check_authorization_redirect(response, allowed_prefixes: tuple[str, ...]) -> None:
    """P1/P2: the authorization endpoint redirects only to the registered URI or the login page."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    assert response.status_code in (302, 303), response.status_code
    location = header(response, "Location")
    assert location, (response.status_code, dict(response.headers), response.text[:300])
    assert location.startswith(allowed_prefixes), location
    if location.startswith("/"):
        return  # the provider's own login page
    params = parse_qs(urlsplit(location).query)
    if "error" in params:
        # RFC 6749 4.1.2.1: a registered error code; RFC 9207: the issuer rides along (P9).
        assert params["error"][0] in OAUTH_ERRORS, location
        assert DESCRIPTION.match(params.get("error_description", [""])[0]), location
        assert "iss" in params, location
    else:
        assert "code" in params and "iss" in params, location


def check_answer(path: str, response, *, authorization_redirects: tuple[str, ...]) -> None:
    check_no_server_error(path, response)
    if path in OAUTH_JSON_ENDPOINTS:
        check_oauth_error(path, response)
    elif path in BEARER_ENDPOINTS:
        check_bearer_error(path, response)
    elif path == "/o/authorize/":
        check_authorization_redirect(response, authorization_redirects)
