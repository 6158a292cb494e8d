"""Guards in front of DOT's token, revocation and introspection views: bad input gets an RFC 6749
5.2 JSON error, never a 500 or an HTML page (found by the fuzzer in tests/fuzz/)."""

from __future__ import annotations

import json
from functools import wraps

from django.core.exceptions import BadRequest, SuspiciousOperation
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


#: What Django raises while it parses a body it cannot read: a multipart body without a boundary
#: (MultiPartParserError, ValueError), a form body in a charset other than UTF-8 (BadRequest), too
#: many fields or too large a body (SuspiciousOperation subclasses).
UNPARSEABLE_BODY = (MultiPartParserError, ValueError, BadRequest, SuspiciousOperation)


def bearer_error(error: str, description: str, status: int = 400) -> HttpResponse:
    """An RFC 6750 3 error: the challenge in ``WWW-Authenticate``."""
    response = HttpResponse(status=status)
    response["WWW-Authenticate"] = f'Bearer error="{error}", error_description="{description}"'
    response["Cache-Control"] = "no-store"
    return response


def _guarded(view, methods: tuple[str, ...], error):
    """Answer a method the endpoint does not serve, or a body Django cannot parse, with ``error``
    (an RFC 6749 5.2 JSON error or an RFC 6750 3 challenge), never an empty 405 or an HTML page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in methods and request.method != "OPTIONS":
            response = error("invalid_request", f"Use {' or '.join(methods)}.", 405)
            response["Allow"] = ", ".join((*methods, "OPTIONS"))
            return response
        if request.method == "POST":
            try:
                request.POST  # noqa: B018  (parse now, where the error can be answered properly)
            except UNPARSEABLE_BODY:
                return error("invalid_request", "The request body could not be parsed.")
        return view(request, *args, **kwargs)

    return wrapped


def parseable_body(view):
    """The revocation and introspection endpoints (POST only, RFC 7009 2.1, RFC 7662 2.1): every
    refusal before DOT's view is an RFC 6749 5.2 JSON error (P26)."""
    return _guarded(view, ("POST",), oauth_error)


def bearer_parseable_body(view):
    """Like :func:`parseable_body`, for UserInfo (GET or POST, OIDC Core 5.3.1): an RFC 6750 3
    challenge."""
    return _guarded(view, ("GET", "POST"), bearer_error)


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
