"""Finding the token of a request (R8): the ``Authorization`` header only, never a URL or a form."""

from __future__ import annotations

import re

from resource_app.exceptions import InvalidRequest, InvalidToken

MAX_TOKEN_LENGTH = 8192
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def bearer_token(request) -> str | None:
    """The header's bearer token; ``None`` when there is none. A token in the query string or the
    form body is refused (RFC 9700 4.3.2), also alongside a header (RFC 6750 3.1 ``invalid_request``)."""
    if "access_token" in request.GET or "access_token" in _form(request):
        raise InvalidRequest("Send the access token in the Authorization header only.")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or not _B64TOKEN.fullmatch(token):
        raise InvalidToken("The access token is malformed.")  # RFC 6750 2.1 b64token
    return token


def _form(request):
    content_type = request.META.get("CONTENT_TYPE", "")
    if request.method != "POST" or not content_type.startswith(FORM_TYPES):
        return {}
    try:
        return request.POST
    except Exception:  # an unreadable body holds no token we would take
        return {}
