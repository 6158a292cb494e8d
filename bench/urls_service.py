"""The service's URLs: the two floors, a protected view, and its calls to the provider so far."""

from __future__ import annotations

import os

from django.http import JsonResponse
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.floors import FLOOR_BODY, DRFFloorView, plain_floor
from resource_app.authentication import BearerTokenAuthentication, HasScopes
from resource_app.calls import for_user
from resource_app.internal import http

CALLS = {"count": 0}
_call = http.call


def _counting_call(*args, **kwargs):
    CALLS["count"] += 1
    return _call(*args, **kwargs)


http.call = _counting_call  # bench only: how many requests this worker sent to the provider


class ServiceView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes = ["notes:read"]

    def get(self, request):
        return Response({**FLOOR_BODY, "sub": request.user.username})


class ServiceCallView(ServiceView):
    """The start of a call to another service for the user (resource_app.calls.for_user): the token
    exchanged for it (RFC 8693), kept by the process, then a session ready to send. The call itself
    is not sent: what is measured is what the calling service spends before it."""

    def get(self, request):
        session = for_user(request, os.environ["BENCH_CALL_AUDIENCE"])
        return Response({**FLOOR_BODY, "sub": request.user.username, "ready": bool(session.base_url)})


def provider_calls(request):
    return JsonResponse({"pid": os.getpid(), "calls": CALLS["count"]})


urlpatterns = [
    path("bench/plain", plain_floor),
    path("bench/drf", DRFFloorView.as_view()),
    path("bench/service", ServiceView.as_view()),
    path("bench/service-call", ServiceCallView.as_view()),
    path("bench/provider-calls", provider_calls),
    path("events/", include("resource_app.urls")),  # revocation events (RFC 8935), as services/urls.py
]
