"""The provider's pages for people: sign in and out. Mount with ``path("account/", include(...))``."""

from __future__ import annotations

from django.urls import path

from provider_app.views import account

app_name = "provider_app"

urlpatterns = [
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", account.LogoutView.as_view(), name="logout"),
]
