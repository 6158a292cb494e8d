"""The authorization endpoint's authentication rules: prompt, max_age, acr_values, two-factor policy.

:class:`AuthenticationRequirementMixin` goes in front of DOT's ``AuthorizationView``
(:class:`provider_app.views.authorize.AuthorizationView` uses it). Before the consent step it sends
the user to log in again (``prompt=login``, ``max_age``; P18), to the second factor (step-up) or to
enrolment (``acr_values`` asking for multi-factor, ``PROVIDER_APP_REQUIRE_TWO_FACTOR``, a client's
``require_two_factor``), and answers ``prompt=none`` without any page. Each issued code gets the
session's authentication stored with it for the ID token (P19).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import get_scopes_backend

from provider_app.app_settings import app_settings
from provider_app.consent import has_consent
from provider_app.two_factor.claims import remember_for_code
from provider_app.two_factor.devices import has_two_factor
from provider_app.two_factor.requirements import (
    SILENT_AUTHORIZATION_META,
    SILENT_LOGIN_META,
    AuthenticationRequirement,
    client_requires_two_factor,
    requirement_for,
    url_after_fresh_login,
)
from provider_app.two_factor.session import session_authentication


def application_for(client_id: str | None):
    if not client_id or "\x00" in client_id:  # PostgreSQL refuses NUL bytes in text (DataError)
        return None
    return get_application_model().objects.filter(client_id=client_id).select_related("policy").first()


class AuthenticationRequirementMixin:
    """Enforces what the authorization request and the client policy ask of the user's login.

    ``second_factor_url`` and ``enrolment_url`` (URL names) may be overridden.
    """

    second_factor_url = "provider_app:two_factor_verify"
    enrolment_url = "provider_app:two_factor_setup"
    two_factor_required_template = "provider_app/two_factor/required.html"

    def get(self, request, *args, **kwargs):
        application = application_for(request.GET.get("client_id"))
        requirement = requirement_for(request, application)
        authentication = session_authentication(request)
        if requirement.silent:
            return self._silent(request, requirement, authentication, application, *args, **kwargs)
        if requirement.is_met_by(authentication):
            return super().get(request, *args, **kwargs)
        # Send nobody anywhere for a request that is not valid (P2): validate first.
        try:
            self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        return self._authenticate(request, requirement, authentication)

    def _authenticate(self, request, requirement: AuthenticationRequirement, authentication):
        if requirement.needs_login(authentication):
            return redirect_to_login(
                url_after_fresh_login(request, authentication),
                self.get_login_url(),
                self.get_redirect_field_name(),
            )
        target = self.second_factor_url if has_two_factor(request.user) else self.enrolment_url
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")

    def _silent(self, request, requirement, authentication, application, *args, **kwargs):
        """``prompt=none`` (OIDC Core 3.1.2.1): a code without any page, or an error to the client."""
        login_ok = authentication is not None and requirement.is_met_by(authentication)
        scopes = request.GET.get("scope", "").split()
        if not scopes and application is not None:
            scopes = get_scopes_backend().get_default_scopes(application=application, request=request)
        consent_ok = application is not None and has_consent(request.user, application, scopes)
        request.META[SILENT_LOGIN_META] = "1" if login_ok else "0"
        request.META[SILENT_AUTHORIZATION_META] = "1" if consent_ok else "0"
        if login_ok and consent_ok:
            return super().get(request, *args, **kwargs)
        # For OpenID requests oauthlib raises login_required/consent_required from the validator;
        # errors for unknown clients or redirect URIs stay on the error page (P2).
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        # A plain OAuth request (no openid scope) with prompt=none: answer the same way, no page.
        response = {"error": "login_required" if not login_ok else "consent_required"}
        if credentials.get("state"):
            response["state"] = credentials["state"]
        redirect_uri = credentials["redirect_uri"]
        separator = "&" if "?" in redirect_uri else "?"
        return self.redirect(f"{redirect_uri}{separator}{urlencode(response)}", application)

    def handle_no_permission(self):
        """Not signed in: ``prompt=none`` gets ``login_required`` (DOT, with ``iss``); a login
        demanded by ``prompt=login`` or ``max_age`` returns with a fresh-login marker."""
        query = self.request.GET
        prompt = set(query.get("prompt", "").split())
        if "none" not in prompt and ("login" in prompt or "max_age" in query):
            return redirect_to_login(
                url_after_fresh_login(self.request), self.get_login_url(), self.get_redirect_field_name()
            )
        return super().handle_no_permission()

    def post(self, request, *args, **kwargs):
        # Approving by POST must not skip what the GET demanded (it sent the user to step up);
        # denying stays possible, so that the client hears access_denied.
        application = application_for(request.POST.get("client_id"))
        required = (
            app_settings.REQUIRE_TWO_FACTOR
            or client_requires_two_factor(application)
            or has_two_factor(request.user)
        )
        authentication = session_authentication(request)
        multi_factor = authentication is not None and authentication.is_multi_factor
        if request.POST.get("allow") and required and not multi_factor:
            return render(
                request, self.two_factor_required_template, {"application": application}, status=403
            )
        return super().post(request, *args, **kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):
        uri, headers, body, status = super().create_authorization_response(
            request=request, scopes=scopes, credentials=credentials, allow=allow
        )
        code = dict(parse_qsl(urlsplit(uri or "").query)).get("code")
        if code:
            remember_for_code(request, code)
        return uri, headers, body, status
