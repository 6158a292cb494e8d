"""Stock DOT: its own URLconf under /o/, DOT-authenticated /api/me, and the floor views."""

from __future__ import annotations

from django.urls import include, path

from bench import floors, views

urlpatterns = [
    path("bench/plain", floors.plain_floor),
    path("bench/drf", floors.DRFFloorView.as_view()),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/me", views.StockMeView.as_view()),
]
