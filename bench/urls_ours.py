"""oauthsite's URLs plus the floor views under /bench/."""

from __future__ import annotations

from django.urls import path

from bench import floors
from oauthsite.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("bench/plain", floors.plain_floor),
    path("bench/drf", floors.DRFFloorView.as_view()),
    *site_urlpatterns,
]
