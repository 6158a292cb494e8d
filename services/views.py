"""The one page of a demo service: who called, with what token, and what the next service said.

``GET /api/whoami/`` (the service's scope required) answers the validated token as this service saw
it (``sub``, ``aud``, ``scope``, ``client_id``, the ``act`` chain, which validation mode decided) and,
when ``SERVICE_NEXT_AUDIENCE`` is set, the answer of the next service, called for the same user
with a token exchanged for it (:func:`resource_app.calls.for_user`), or why that call failed.
"""

from __future__ import annotations

import time

import requests
from django.conf import settings
from django.http import JsonResponse

from resource_app.calls import for_user
from resource_app.decorators import token_required
from resource_app.exceptions import ServiceCallError, TokenRequestRefused


def _token_seen(token) -> dict:
    return {
        "service": settings.SERVICE_NAME,
        "mode": token.mode,
        "sub": token.subject,
        "client_id": token.client_id,
        "aud": list(token.audiences),
        "scope": " ".join(sorted(token.scopes)),
        "act": list(token.actors),
    }


def _call_next(request) -> dict:
    """The next service's answer for the same user, or what went wrong (never the token)."""
    audience = settings.SERVICE_NEXT_AUDIENCE
    started = time.monotonic()
    try:
        session = for_user(request, audience, scope=settings.SERVICE_NEXT_SCOPE or None)
        response = session.get(f"{audience.rstrip('/')}/api/whoami/")
    except TokenRequestRefused as error:
        return {"service_url": audience, "exchange_refused": error.error}
    except (ServiceCallError, requests.RequestException) as error:
        return {"service_url": audience, "unreachable": type(error).__name__}
    answer: dict = {"service_url": audience, "status": response.status_code}
    answer["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict):
        answer["answer"] = body
    else:
        answer["refusal"] = response.headers.get("WWW-Authenticate", "")
    return answer


@token_required(scopes=[settings.SERVICE_SCOPE], actors=settings.SERVICE_ALLOWED_ACTORS)
def whoami(request):
    seen = _token_seen(request.access_token)
    if settings.SERVICE_NEXT_AUDIENCE:
        seen["next"] = _call_next(request)
    return JsonResponse(seen)
