"""The provider's own sign-in and sign-out pages.

Sign-in is two steps for users with an authenticator app: the password step here, then
:class:`provider_app.two_factor.views.SecondFactorView`. Between them the session holds only a
signed, expiring marker with the user id (P21), never the password or a half-finished login.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import reverse

from provider_app.app_settings import app_settings
from provider_app.internal import backchannel_logout, known_devices
from provider_app.internal.http import auth_page
from provider_app.two_factor.devices import has_two_factor
from provider_app.two_factor.session import begin_second_factor, end_second_factor


@auth_page
class LoginView(auth_views.LoginView):
    """Django's login view with provider_app's template, headers and the second-factor step.

    The password is checked by Django's ``AuthenticationForm(request=...)``, so ``authenticate()``
    and its signals run as usual (login throttling plugs in there). ``next`` is checked by Django's
    ``RedirectURLMixin`` (same host only), and every redirect after a POST of credentials is a 302
    (RFC 9700 4.12), never a 307. ``second_factor_url`` and ``enrolment_url`` may be overridden.
    """

    template_name = "provider_app/login.html"
    redirect_authenticated_user = False
    second_factor_url = "provider_app:two_factor_verify"
    enrolment_url = "provider_app:two_factor_setup"

    def get(self, request, *args, **kwargs):
        end_second_factor(request)  # a new sign-in starts from the password step
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if has_two_factor(user):
            begin_second_factor(self.request, user, self.get_success_url())
            return HttpResponseRedirect(reverse(self.second_factor_url))
        backchannel_logout.another_user_signs_in(self.request, user)  # L3: the previous session ends
        response = super().form_valid(form)
        if app_settings.REQUIRE_TWO_FACTOR:
            query = urlencode({"next": self.get_success_url()})
            response = HttpResponseRedirect(f"{reverse(self.enrolment_url)}?{query}")
        known_devices.remember(self.request, response, user)  # P20: a known device from now on
        return response


@auth_page
class LogoutView(auth_views.LogoutView):
    template_name = "provider_app/logged_out.html"
