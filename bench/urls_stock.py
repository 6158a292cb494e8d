"""Stock DOT: its own URLconf under /o/, DOT-authenticated /api/me, and the floor views."""

from __future__ import annotations

from django.urls import include, path

from bench import views

urlpatterns = [
    path("bench/plain", views.plain_floor),
    path("bench/drf", views.DRFFloorView.as_view()),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/me", views.StockMeView.as_view()),
]
