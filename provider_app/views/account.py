"""The provider's own sign-in and sign-out pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from provider_app.security_headers import auth_page


@auth_page
class LoginView(auth_views.LoginView):
    """Django's login view with provider_app's template and the authentication-page headers.

    ``next`` is checked by Django's ``RedirectURLMixin`` (same host only), and the redirect after a
    successful POST of credentials is a 302 (RFC 9700 4.12), never a 307.
    """

    template_name = "provider_app/login.html"
    redirect_authenticated_user = False


@auth_page
class LogoutView(auth_views.LogoutView):
    template_name = "provider_app/logged_out.html"
