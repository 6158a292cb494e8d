"""The "connected apps" page: the clients holding access to the signed-in user's account."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from provider_app import signals
from provider_app.internal.consent import connected_apps, find_connected_app, revoke_connected_app
from provider_app.internal.http import auth_page


@auth_page
class ConnectedAppsView(LoginRequiredMixin, TemplateView):
    """GET lists the clients (scopes, since when, last active); POST ``application`` revokes one.

    Revoking takes a POST with Django's CSRF token, for the signed-in user's own clients only, and
    answers 303 to the list (RFC 9700 4.12).
    """

    template_name = "provider_app/connected_apps.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "connected_apps": connected_apps(self.request.user)}

    def post(self, request, *args, **kwargs):
        application = find_connected_app(request.user, request.POST.get("application", ""))
        if application is None:
            messages.error(request, "That application has no access to your account.")
        else:
            revoked = revoke_connected_app(request.user, application, request)
            signals.announce(
                signals.access_revoked,
                sender=type(self),
                request=request,
                application=application,
                by="user",
                revoked_access_token_count=revoked,
            )
            messages.success(request, f"{application.name} no longer has access to your account.")
        return HttpResponseRedirect(reverse("provider_app:connected_apps"), status=303)
