"""The provider's URLs with a resource_app service beside them under ``service/`` (its notes views and
its revocation-event receiver at ``service/events/``), for tests that run both in one live server."""

from __future__ import annotations

from django.urls import include, path

from oauthsite.urls import urlpatterns as provider_urlpatterns

urlpatterns = [path("service/", include("tests.resource_app.urls")), *provider_urlpatterns]
