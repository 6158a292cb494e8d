"""oauthsite's URLs plus the floor views under /bench/."""

from __future__ import annotations

from django.urls import path

from bench import views
from oauthsite.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("bench/plain", views.plain_floor),
    path("bench/drf", views.DRFFloorView.as_view()),
    *site_urlpatterns,
]
