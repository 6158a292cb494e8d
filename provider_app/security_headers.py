"""Headers for every page where a user authenticates or decides (RFC 9700 4.16, 4.2.4)."""

from __future__ import annotations

from functools import wraps

from django.utils.decorators import method_decorator

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


def auth_page_headers(view):
    """Decorate a view function: clickjacking, referrer leaks and caching are ruled out."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        for name, value in AUTH_PAGE_HEADERS.items():
            response[name] = value
        response.xframe_options_exempt = False
        return response

    return wrapped


auth_page = method_decorator(auth_page_headers, name="dispatch")
