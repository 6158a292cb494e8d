"""Views that exist only for the benchmark: the two floors and stock DOT's ``/api/me``."""

from __future__ import annotations

from django.http import JsonResponse
from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from provider_app.api.views import MeView

FLOOR_BODY = {"sub": "1", "name": "Ada Lovelace", "preferred_username": "ada"}


def plain_floor(request):
    """The cheapest JSON answer Django gives through the project's middleware."""
    return JsonResponse(FLOOR_BODY)


class DRFFloorView(APIView):
    """The same answer through DRF, without authentication or permissions."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(FLOOR_BODY)


class StockMeView(MeView):
    """provider_app's ``/api/me`` body behind DOT's own DRF authentication and scope check."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated, TokenHasScope]
