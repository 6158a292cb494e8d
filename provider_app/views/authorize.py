"""The authorization endpoint: DOT's view with provider_app's login rules, consent page and ``iss``.

The RFC 9207 ``iss`` parameter on every authorization response, success and error (P9).

The authorization endpoint's authentication rules: prompt, max_age, acr_values, two-factor policy.

:class:`AuthenticationRequirementMixin` goes in front of DOT's ``AuthorizationView``
(:class:`provider_app.views.authorize.AuthorizationView` uses it). Before the consent step it sends
the user to log in again (``prompt=login``, ``max_age``; P18), to the second factor (step-up) or to
enrolment (``acr_values`` asking for multi-factor, ``PROVIDER_APP_REQUIRE_TWO_FACTOR``, a client's
``require_two_factor``), and answers ``prompt=none`` without any page. Each issued code gets the
session's authentication stored with it for the ID token (P19).

The authorization endpoint: DOT's view with provider_app's consent page and remembered consent.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView as DOTAuthorizationView
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, InvalidClientIdError

from provider_app import audit
from provider_app.app_settings import app_settings
from provider_app.internal.clients import find_client
from provider_app.internal.consent import has_consent, remember_consent
from provider_app.internal.http import auth_page
from provider_app.internal.login import remember_for_code, session_authentication
from provider_app.internal.login_requirements import (
    SILENT_AUTHORIZATION_META,
    SILENT_LOGIN_META,
    AuthenticationRequirement,
    client_requires_two_factor,
    requirement_for,
    url_after_fresh_login,
)
from provider_app.internal.resources import describe
from provider_app.two_factor.devices import has_two_factor

# --------------------------------------------------------------------------------------------------
# The RFC 9207 ``iss`` parameter on every authorization response, success and error (P9).
# --------------------------------------------------------------------------------------------------


def authorization_response_issuer(request: HttpRequest) -> str:
    """The issuer as discovery publishes it (RFC 9207 2: ``iss`` MUST equal the metadata ``issuer``)."""
    return oauth2_settings.oidc_issuer(request)


def with_issuer(redirect_uri: str, issuer: str) -> str:
    """``redirect_uri`` with exactly one ``iss`` in its query (RFC 9207 2).

    provider_app answers with ``response_mode=query`` only, so the parameters live in the query.
    Registered redirect URIs never have a fragment (RFC 6749 3.1.2), so a fragment here holds
    parameters oauthlib put there for an implicit-style ``response_type`` (an error, as only
    ``code`` is accepted): they are moved to the query. Any ``iss`` already present (e.g. from the
    registered URI) is replaced so that it is unambiguous.
    """
    parts = urlsplit(redirect_uri)
    parameters = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(
        parts.fragment, keep_blank_values=True
    )
    query = [(k, v) for k, v in parameters if k != "iss"]
    query.append(("iss", issuer))
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


# --------------------------------------------------------------------------------------------------
# The authorization endpoint's authentication rules: prompt, max_age, acr_values, two-factor policy.
# --------------------------------------------------------------------------------------------------


def application_for(client_id: str | None):
    return find_client(client_id, "policy")


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


# --------------------------------------------------------------------------------------------------
# The authorization endpoint: DOT's view with provider_app's consent page and remembered consent.
# --------------------------------------------------------------------------------------------------


@auth_page
class AuthorizationView(AuthenticationRequirementMixin, DOTAuthorizationView):
    """Shows the consent page unless this user already approved these scopes for this client.

    Before consent, :class:`~provider_app.views.authorize.AuthenticationRequirementMixin`
    applies ``prompt``, ``max_age``, ``acr_values`` and the two-factor policy (P18, P19).

    ``template_name`` may be overridden; the template gets ``application``, ``scopes`` and
    ``scope_descriptions`` (pairs of scope and plain-words explanation) and ``form``.
    """

    template_name = "provider_app/consent.html"

    def redirect(self, redirect_to, application):
        # RFC 9207: DOT adds ``iss`` to successful responses only; errors need it just as much.
        issuer = authorization_response_issuer(self.request)
        return super().redirect(with_issuer(redirect_to, issuer), application)

    def get(self, request, *args, **kwargs):
        if "approval_prompt" in request.GET:
            # DOT lets the request choose ``approval_prompt=auto``: approval from any live token of
            # this client, which defeats ``prompt=consent`` and a consent the user withdrew.
            # Remembered consent (below) is the only automatic approval.
            query = request.GET.copy()
            del query["approval_prompt"]
            request.GET = query
        response = super().get(request, *args, **kwargs)
        if response.status_code != 200 or not hasattr(response, "context_data"):
            return response
        context = response.context_data
        application = context.get("application")
        if application is None or "form" not in context:
            return response  # an error page
        scopes = context["scopes"]
        resources = [r for value in request.GET.getlist("resource") for r in value.split()]
        validator = self.get_validator_class()()
        refusal = resources and validator.resource_refusal(application, resources, scopes, request)
        if refusal:  # RFC 8707 2: refused before the user is asked, at the client's redirect URI
            return self._refuse("invalid_target", refusal, context["form"].initial, application)
        # OIDC Core 3.1.2.1: prompt=consent asks again even when the approval is remembered.
        # (First-party clients, ``skip_authorization``, never show the page: DOT answers before this.)
        consent_prompted = "consent" in request.GET.get("prompt", "").split()
        if not consent_prompted and has_consent(request.user, application, scopes):
            return self._approve(application, scopes, context["form"].initial)
        context["scope_descriptions"] = describe(scopes, resources)
        return response

    def _refuse(self, error, description, initial, application):
        oauthlib_error = CustomOAuth2Error(error=error, description=description, state=initial.get("state"))
        oauthlib_error.redirect_uri = initial.get("redirect_uri")  # validated by DOT before the page
        return self.error_response(OAuthToolkitError(error=oauthlib_error), application)

    def _approve(self, application, scopes, initial):
        credentials = {
            key: initial[key]
            for key in (
                "client_id",
                "redirect_uri",
                "response_type",
                "state",
                "code_challenge",
                "code_challenge_method",
                "nonce",
                "claims",
            )
            if initial.get(key)
        }
        if initial.get("resource"):
            # RFC 8707: the form keeps the resources space-separated; the grant needs the list.
            credentials["resource"] = initial["resource"].split()
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=self.request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.redirect(uri, application)

    def form_valid(self, form):
        if self._application(form.cleaned_data["client_id"]) is None:
            # A tampered form: DOT would look the client up with .get() and answer with a 500.
            return self.error_response(FatalClientError(error=InvalidClientIdError()), application=None)
        response = super().form_valid(form)
        if form.cleaned_data.get("allow") and response.status_code in (301, 302, 303):
            application = self._application(form.cleaned_data["client_id"])
            if application is not None and "error=" not in response.get("Location", ""):
                remember_consent(self.request.user, application, form.cleaned_data["scope"].split())
                audit.record(
                    audit.CONSENT_GIVEN,
                    request=self.request,
                    application=application,
                    scope=form.cleaned_data["scope"],
                )
        elif not form.cleaned_data.get("allow"):
            audit.record(
                audit.CONSENT_DENIED,
                request=self.request,
                application=self._application(form.cleaned_data.get("client_id", "")),
            )
        return response

    @staticmethod
    def _application(client_id):
        return find_client(client_id)
