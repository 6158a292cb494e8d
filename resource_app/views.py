"""The revocation-event receiver: where the provider pushes Security Event Tokens (RFC 8935).

    urlpatterns = [..., path("events/", include("resource_app.urls"))]

and register ``https://<service>/events/`` at the provider as this service's push endpoint.
"""

from __future__ import annotations

import hmac
import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from resource_app.app_settings import app_settings
from resource_app.exceptions import ProviderUnavailable
from resource_app.internal import security_events
from resource_app.internal.security_events import EventRefused

logger = logging.getLogger("resource_app")

SET_MEDIA_TYPE = "application/secevent+jwt"


@method_decorator(csrf_exempt, name="dispatch")
class SecurityEventReceiverView(View):
    """RFC 8935 push delivery: ``POST`` with ``Content-Type: application/secevent+jwt`` and the SET as
    the body. ``202 Accepted`` with an empty body when it was acted on, received before, or holds no
    event this service acts on (2.2); ``400`` with ``{"err", "description"}`` when it is refused
    (2.3, 2.4); ``503`` when the provider's keys or the database cannot be reached (the provider
    retries). Exempt from CSRF: the provider calls it server to server, and the SET's signature is
    what authenticates the call. Subclasses may change :meth:`authorized` (for instance to check
    a client certificate the proxy forwards)."""

    http_method_names = ["post"]

    def post(self, request):
        if not self.authorized(request):
            refusal = EventRefused("authentication_failed", "The request's authorization is not accepted.")
            return _refusal(refusal)
        if request.content_type != SET_MEDIA_TYPE:  # RFC 8935 2.1
            return _refusal(EventRefused("invalid_request", f"The body must be {SET_MEDIA_TYPE}."))
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= security_events.MAX_SET_LENGTH:
            return _refusal(EventRefused("invalid_request", "The body is not a Security Event Token."))
        try:
            security_events.receive(request.body.decode("ascii").strip())
        except EventRefused as refusal:
            return _refusal(refusal)
        except (ValueError, TypeError, KeyError, UnicodeError, RecursionError, OverflowError):
            return _refusal(EventRefused("invalid_request", "The SET is malformed."))  # never a 500
        except (ProviderUnavailable, DatabaseError):
            logger.warning("resource_app: a revocation event could not be processed now", exc_info=True)
            response = JsonResponse(
                {"err": "temporarily_unavailable", "description": "Try again later."}, status=503
            )
            response["Retry-After"] = "5"
            return response
        return HttpResponse(status=202)

    def authorized(self, request) -> bool:
        """``RESOURCE_APP_EVENTS_AUTHORIZATION``, when set, must come as ``Authorization: Bearer``."""
        expected = app_settings.EVENTS_AUTHORIZATION
        if not expected:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {expected}".encode())


def _refusal(refusal: EventRefused) -> JsonResponse:
    logger.info("resource_app: revocation event refused: %s", refusal.err)
    response = JsonResponse({"err": refusal.err, "description": refusal.description}, status=400)
    response["Cache-Control"] = "no-store"
    return response
