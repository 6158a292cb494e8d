"""One DRF view of the fresh service project: reading needs the scope named by SERVICE_SCOPE."""

from __future__ import annotations

import os

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from resource_app.authentication import BearerTokenAuthentication, HasScopes


class ItemsView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes = [os.environ["SERVICE_SCOPE"]]

    def get(self, request):
        token = request.auth
        return Response(
            {
                "sub": token.subject,
                "client_id": token.client_id,
                "mode": token.mode,
                "audiences": list(token.audiences),
                "scopes": sorted(token.scopes),
            }
        )


urlpatterns = [path("items/", ItemsView.as_view())]
