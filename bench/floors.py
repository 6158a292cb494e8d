"""The two floor views every benchmark server serves (the provider's and the services'): the
cheapest JSON answer through the project's middleware, and the same through DRF without
authentication. Kept free of provider_app imports, so that a service can serve them."""

from __future__ import annotations

from django.http import JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

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
