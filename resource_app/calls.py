"""Calls from this service to another one, with a token made for that service (never the caller's).

    from resource_app.calls import for_user, as_service

    # In a view of service A, called with the user's token: call service B for that same user.
    # The provider exchanges the token (RFC 8693): B sees the user as ``sub`` and A in ``act``.
    session = for_user(request, "https://files.example.com/", scope="files:read")
    answer = session.get("https://files.example.com/api/files/")

    # Service A calling B as itself (no user): client_credentials (RFC 6749 4.4).
    answer = as_service("https://audit.example.com/", scope="audit:write").post(url, json=event)

Both return a :class:`ServiceSession`: a ``requests.Session`` whose requests carry the token (to
URLs under the target's identifier, or ``base_url``, only), have a timeout per socket operation
(``RESOURCE_APP_HTTP_TIMEOUT``), a total deadline (``RESOURCE_APP_CALL_DEADLINE``, status line and
headers included) and a size cap (``RESOURCE_APP_CALL_MAX_RESPONSE_BYTES``), and do not follow
redirects (the token is for that service only). Tokens are kept in the process until
shortly before they expire (``RESOURCE_APP_CALL_TOKEN_MARGIN``), keyed by a digest of the subject
token, the target and the scope: the second call for the same user and target asks the provider
nothing. The provider is found by discovery and authenticated with ``RESOURCE_APP_CLIENT_ID`` /
``RESOURCE_APP_CLIENT_SECRET``.

Errors: :class:`~resource_app.exceptions.TokenRequestRefused` when the provider says no (its
``error``, e.g. ``invalid_target`` when policy does not let this service call that one),
:class:`~resource_app.exceptions.TokenRequestFailed` when it cannot be asked; both are
:class:`~resource_app.exceptions.ServiceCallError`. The calls themselves raise what ``requests``
raises (``requests.Timeout`` past the deadline, ``ResponseTooLarge`` past the cap).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.views.decorators.debug import sensitive_variables

from resource_app.app_settings import app_settings
from resource_app.exceptions import ServiceCallError
from resource_app.internal.deadline import Deadline, mount
from resource_app.internal.http import ResponseTooLarge, read_capped
from resource_app.internal.requests_tokens import bearer_token
from resource_app.internal.service_tokens import exchanged_token, service_token
from resource_app.tokens import ValidatedToken

__all__ = ["ResponseTooLarge", "ServiceSession", "as_service", "for_user"]


class ServiceSession(requests.Session):
    """A session that sends ``token`` to one service only (URLs under ``base_url``), within a
    deadline and a size cap per call, never following a redirect; enforced in :meth:`send`, which
    every request goes through (``Session.request``, or ``send`` called directly)."""

    @sensitive_variables("token")
    def __init__(self, token: str, base_url: str) -> None:
        super().__init__()
        mount(self)  # the deadline covers the status line and headers too
        self.base_url = _base(base_url)
        self.headers["Authorization"] = f"Bearer {token}"
        self.headers["Accept"] = "application/json"

    def send(self, request, **kwargs):  # type: ignore[override]
        if not _base(request.url).startswith(self.base_url):
            raise ServiceCallError(f"This session's token is for {self.base_url} only.")
        deadline_seconds = app_settings.CALL_DEADLINE
        timeout = kwargs.get("timeout") or app_settings.HTTP_TIMEOUT
        if isinstance(timeout, tuple | list):
            kwargs["timeout"] = tuple(
                min(float(part or deadline_seconds), deadline_seconds) for part in timeout
            )
        else:
            kwargs["timeout"] = min(float(timeout), deadline_seconds)
        kwargs["allow_redirects"] = False  # Session.get() asks for them: the token goes to this URL only
        kwargs["stream"] = True
        with Deadline(deadline_seconds) as deadline:
            try:
                response = super().send(request, **kwargs)
                try:
                    content = read_capped(response, deadline.at, app_settings.CALL_MAX_RESPONSE_BYTES)
                finally:
                    response.close()
            except requests.RequestException:
                if deadline.expired:
                    raise deadline.timeout() from None
                raise
        response._content = content  # what .content, .text and .json() read (requests' own attribute)
        return response


def _base(url: str) -> str:
    """``scheme://host:port/path`` of an http(s) URL, lower-cased where case does not count."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceCallError("Calls go to http(s) URLs only: pass base_url for a service named by a URN.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}{parts.path or '/'}"


def for_user(
    request, audience: str, *, scope: str | None = None, base_url: str | None = None
) -> ServiceSession:
    """A session that calls ``audience`` for the user of ``request``, whose bearer token this service
    accepted (``request.auth`` with DRF, ``request.access_token`` otherwise): the token exchanged at
    the provider (RFC 8693), kept no longer than the caller's token is valid. Requests go to URLs
    under ``base_url`` only (default: ``audience``, when it is an http(s) URL)."""
    django_request = getattr(request, "_request", request)
    accepted = getattr(request, "auth", None) if django_request is not request else None
    accepted = accepted or getattr(django_request, "access_token", None)
    subject_token = bearer_token(django_request)
    if not isinstance(accepted, ValidatedToken) or subject_token is None:
        raise ServiceCallError("Only the token of a request this service accepted can be acted for.")
    token = exchanged_token(subject_token, audience, scope, not_after=accepted.expires_at)
    return ServiceSession(token, base_url or audience)


def as_service(audience: str, *, scope: str | None = None, base_url: str | None = None) -> ServiceSession:
    """A session that calls ``audience`` as this service itself (client_credentials)."""
    return ServiceSession(service_token(audience, scope), base_url or audience)
