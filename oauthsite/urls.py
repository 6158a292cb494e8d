"""The demo composes both apps: the provider under /o/, /account/ and /api/, the client under /client/."""

from django.contrib import admin
from django.urls import include, path

from oauthsite import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("o/", include("provider_app.oauth_urls")),
    path("account/", include("provider_app.urls")),
    path("api/", include("provider_app.api.urls")),
]
