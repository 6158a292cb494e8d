"""Mount with ``path("api/", include("provider_app.api.urls"))``."""

from __future__ import annotations

from django.urls import path

from provider_app.api.views import MeView

app_name = "provider_api"

urlpatterns = [path("me", MeView.as_view(), name="me")]
