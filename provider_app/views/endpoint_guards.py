"""Guards in front of DOT's token, revocation and introspection views: bad input gets an RFC 6749
5.2 JSON error, never a 500 or an HTML page (found by the fuzzer in tests/fuzz/)."""

from __future__ import annotations

import json
from functools import wraps

from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def oauth_error(error: str, description: str, status: int = 400) -> HttpResponse:
    """An RFC 6749 5.2 error response (JSON, ``no-store``)."""
    response = HttpResponse(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def parseable_body(view):
    """A POST body that Django cannot parse (say a multipart body without a boundary) is an
    ``invalid_request``, not Django's HTML 400 page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            try:
                request.POST  # noqa: B018  (parse now, where the error can be answered properly)
            except (MultiPartParserError, ValueError):
                return oauth_error("invalid_request", "The request body could not be parsed.")
        return view(request, *args, **kwargs)

    return wrapped


def bearer_error(error: str, description: str, status: int = 400) -> HttpResponse:
    """An RFC 6750 3 error: the challenge in ``WWW-Authenticate``."""
    response = HttpResponse(status=status)
    response["WWW-Authenticate"] = f'Bearer error="{error}", error_description="{description}"'
    response["Cache-Control"] = "no-store"
    return response


def bearer_parseable_body(view):
    """Like :func:`parseable_body`, for a resource endpoint (UserInfo): an RFC 6750 3 error."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            try:
                request.POST  # noqa: B018
            except (MultiPartParserError, ValueError):
                return bearer_error("invalid_request", "The request body could not be parsed.")
        return view(request, *args, **kwargs)

    return wrapped


def token_endpoint_guard(view):
    """The token endpoint's extra rule: the RFC 8628 device grant is not offered by this provider
    (not in discovery), so DOT's device branch, which reads ``device_code`` unchecked and answers
    ``device_not_found`` outside RFC 6749's error codes, is never reached."""

    @parseable_body
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and request.POST.get("grant_type") == DEVICE_CODE_GRANT:
            return oauth_error("unsupported_grant_type", "The device authorization grant is not supported.")
        return view(request, *args, **kwargs)

    return wrapped
