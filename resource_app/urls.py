"""``path("events/", include("resource_app.urls"))``: the revocation-event receiver (RFC 8935)."""

from __future__ import annotations

from django.urls import path

from resource_app.views import SecurityEventReceiverView

app_name = "resource_app"

urlpatterns = [path("", SecurityEventReceiverView.as_view(), name="security-events")]
