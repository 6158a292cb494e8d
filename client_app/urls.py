"""Mount with ``path("client/", include("client_app.urls"))``. The redirect URI to register at a
provider is then ``https://<your host>/client/<slug>/callback/``, and the post-logout redirect URI
``https://<your host>/client/logged-out/``, and the back-channel logout URI
``https://<your host>/client/<slug>/backchannel-logout/``."""

from __future__ import annotations

from django.urls import path

from client_app import views

app_name = "client_app"

urlpatterns = [
    path("", views.LoginView.as_view(), name="login"),
    path("connections/", views.ConnectionsView.as_view(), name="connections"),
    path("connections/<int:pk>/disconnect/", views.DisconnectView.as_view(), name="disconnect"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logged-out/", views.LoggedOutView.as_view(), name="logged_out"),
    path("<slug:slug>/login/", views.StartView.as_view(), name="start"),
    path("<slug:slug>/connect/", views.ConnectView.as_view(), name="connect"),
    path("<slug:slug>/callback/", views.CallbackView.as_view(), name="callback"),
    path("<slug:slug>/backchannel-logout/", views.BackChannelLogoutView.as_view(), name="backchannel_logout"),
]
