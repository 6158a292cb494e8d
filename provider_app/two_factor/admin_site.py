"""An admin site that refuses staff who have not passed the second factor in this session.

Projects use it by replacing ``"django.contrib.admin"`` in ``INSTALLED_APPS`` with
``"provider_app.two_factor.apps.TwoFactorAdminConfig"`` (the demo does). This module registers
nothing itself: Django imports it while it builds ``admin.site``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from provider_app.two_factor.devices import has_two_factor


def is_verified(user) -> bool:
    """django-otp's flag (set by OTPMiddleware): this session passed a second factor."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


class TwoFactorAdminSite(admin.AdminSite):
    """The admin for staff who passed two-factor in this session; others are sent to get it.

    Signed-out visitors (and signed-in non-staff) go to provider_app's login, which asks for the
    second factor; signed-in staff without it go to the second-factor step, or to enrolment if they
    have no device yet. The admin's own password form is never shown.
    """

    login_url_name = "provider_app:login"
    second_factor_url_name = "provider_app:two_factor_verify"
    enrolment_url_name = "provider_app:two_factor_setup"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and is_verified(request.user)

    def login(self, request, extra_context=None):
        """Never the admin's own password form (it has no second step): the provider's pages."""
        next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index", current_app=self.name)
        user = request.user
        if self.has_permission(request):
            return redirect(next_url)
        if user.is_authenticated and user.is_active and user.is_staff:
            target = self.second_factor_url_name if has_two_factor(user) else self.enrolment_url_name
        else:  # signed out, or signed in as someone who is not staff: sign in (again)
            target = self.login_url_name
        return redirect(f"{reverse(target)}?{urlencode({'next': next_url})}")
