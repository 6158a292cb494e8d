"""Two-factor pages, included by :mod:`provider_app.urls` under ``two-factor/``."""

from __future__ import annotations

from django.urls import path

from provider_app.two_factor import views

urlpatterns = [
    path("", views.OverviewView.as_view(), name="two_factor"),
    path("verify/", views.SecondFactorView.as_view(), name="two_factor_verify"),
    path("setup/", views.SetupView.as_view(), name="two_factor_setup"),
    path("devices/<int:pk>/remove/", views.RemoveDeviceView.as_view(), name="two_factor_remove_device"),
    path("recovery-codes/", views.RecoveryCodesView.as_view(), name="two_factor_recovery_codes"),
    path("reauthenticate/", views.ReauthenticateView.as_view(), name="two_factor_reauthenticate"),
]
