"""Views that exist only for the benchmark: stock DOT's ``/api/me`` (the floors: bench.floors)."""

from __future__ import annotations

from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope
from rest_framework.permissions import IsAuthenticated

from provider_app.api.views import MeView


class StockMeView(MeView):
    """provider_app's ``/api/me`` body behind DOT's own DRF authentication and scope check."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated, TokenHasScope]
