from django.urls import include, path

from services import views

urlpatterns = [
    path("api/whoami/", views.whoami, name="whoami"),
    # Revocation events pushed by the provider (RFC 8935): the deny-list every worker checks.
    path("events/", include("resource_app.urls")),
]
