"""Every HTTP answer provider_app builds itself: OAuth error answers, endpoint guards, and the
headers and CSRF protection of the pages where a user authenticates.

Guards in front of DOT's revocation and introspection views (the token view applies the same rules
itself): bad input gets an RFC 6749 5.2 JSON error, never a 500 or an HTML page (found by the fuzzer
in tests/fuzz/).

Headers and CSRF protection for every page where a user authenticates or decides
(RFC 9700 4.16, 4.2.4; checklist P10, P11).
"""

from __future__ import annotations

import json
from functools import wraps

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware, method_decorator

# --------------------------------------------------------------------------------------------------
# Guards in front of DOT's revocation and introspection views and of UserInfo: bad input gets an
# RFC 6749 JSON error or an RFC 6750 challenge
# --------------------------------------------------------------------------------------------------


def oauth_error(error: str, description: str, status: int = 400) -> HttpResponse:
    """An RFC 6749 5.2 error response (JSON, ``no-store``)."""
    response = HttpResponse(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    if status == 401:  # RFC 6749 5.2: a failed client authentication names the scheme it needs
        response["WWW-Authenticate"] = 'Basic realm="oauth"'
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


def method_not_allowed(methods: tuple[str, ...], error) -> HttpResponse:
    """A method the endpoint does not serve: ``error`` (an RFC 6749 5.2 JSON error or an RFC 6750 3
    challenge) with status 405 and ``Allow``, never Django's empty 405."""
    response = error("invalid_request", f"Use {' or '.join(methods)}.", 405)
    response["Allow"] = ", ".join((*methods, "OPTIONS"))
    return response


def unparseable_body(error) -> HttpResponse:
    return error("invalid_request", "The request body could not be parsed.")


def _guarded(view, methods: tuple[str, ...], error):
    """Answer a method the endpoint does not serve, or a body Django cannot parse, with ``error``,
    never an empty 405 or an HTML page. (The token endpoint applies the same rules in its view,
    :class:`provider_app.views.token.TokenView`.)"""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in methods and request.method != "OPTIONS":
            return method_not_allowed(methods, error)
        if request.method == "POST":
            try:
                request.POST  # noqa: B018  (parse now, where the error can be answered properly)
            except UNPARSEABLE_BODY:
                return unparseable_body(error)
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


# --------------------------------------------------------------------------------------------------
# Headers and CSRF protection for every page where a user authenticates or decides
# --------------------------------------------------------------------------------------------------

AUTH_PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


class AuthPageCsrfViewMiddleware(CsrfViewMiddleware):
    """Django's CSRF protection, accepting the ``Origin: null`` of a same-origin form POST.

    Under ``Referrer-Policy: no-referrer`` browsers serialise the origin of a form POST as
    ``null`` (Fetch standard, "serializing a request origin"), which Django's origin check refuses,
    so nobody could sign in. ``null`` is accepted only when the browser itself says the request is
    same-origin with ``Sec-Fetch-Site``, a header page scripts cannot set; the CSRF token is then
    checked exactly as always. Every other origin goes through Django's check unchanged.
    """

    def _origin_verified(self, request) -> bool:
        meta = request.META
        if meta.get("HTTP_ORIGIN") == "null" and meta.get("HTTP_SEC_FETCH_SITE") == "same-origin":
            return True
        return super()._origin_verified(request)


auth_page_csrf_protect = decorator_from_middleware(AuthPageCsrfViewMiddleware)


def auth_page_headers(view):
    """Decorate a view function: CSRF-protected (see above), and clickjacking, referrer leaks and
    caching ruled out."""
    protected_view = auth_page_csrf_protect(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = protected_view(request, *args, **kwargs)
        for name, value in AUTH_PAGE_HEADERS.items():
            response[name] = value
        response.xframe_options_exempt = False
        return response

    # The project-wide CsrfViewMiddleware defers to AuthPageCsrfViewMiddleware for these views.
    wrapped.csrf_exempt = True
    return wrapped


auth_page = method_decorator(auth_page_headers, name="dispatch")
