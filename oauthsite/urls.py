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
    # The demo's profile page adds what the client fetched from the provider's /api/me; it takes
    # client_app's own profile URL, so it is listed before the include.
    path("client/profile/", views.DemoProfileView.as_view(), name="demo-profile"),
    path("client/", include("client_app.urls")),
]
