"""Headers and CSRF protection for every page where a user authenticates or decides
(RFC 9700 4.16, 4.2.4; checklist P10, P11)."""

from __future__ import annotations

from functools import wraps

from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware, method_decorator

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
