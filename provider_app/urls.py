"""The provider's pages for people: sign in and out, two-factor. Mount under ``path("account/", ...)``."""

from __future__ import annotations

from django.urls import include, path

from provider_app.views import account, connected_apps

app_name = "provider_app"

urlpatterns = [
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", account.LogoutView.as_view(), name="logout"),
    path("two-factor/", include("provider_app.two_factor.urls")),
    path("connected-apps/", connected_apps.ConnectedAppsView.as_view(), name="connected_apps"),
]
