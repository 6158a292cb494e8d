"""The UserInfo request (OIDC Core 5.3): a bearer GET whose ``sub`` must equal the ID token's (C5)."""

from __future__ import annotations

from typing import Any

from django.views.decorators.debug import sensitive_variables

from client_app.exceptions import InvalidIdToken, ProviderError
from client_app.internal import http


@sensitive_variables()
def fetch(userinfo_endpoint: str, access_token: str) -> dict[str, Any]:
    """RFC 6750 2.1: the token in the Authorization header only, never in the URL."""
    response = http.call(
        "GET",
        userinfo_endpoint,
        what="UserInfo",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if response.status_code != 200:
        raise ProviderError(
            f"The provider answered HTTP {response.status_code} (UserInfo).", code="http_error"
        )
    if response.headers.get("Content-Type", "").split(";")[0].strip() == "application/jwt":
        raise ProviderError("Signed UserInfo responses are not supported.", code="unsupported_userinfo")
    return http.json_object(response, what="UserInfo")


def check_subject(userinfo: dict[str, Any], sub: str) -> None:
    """OIDC Core 5.3.2: a UserInfo response about someone else is a token substitution attack."""
    if userinfo.get("sub") != sub:
        raise InvalidIdToken("The UserInfo response is about another user.", code="userinfo_sub_mismatch")
