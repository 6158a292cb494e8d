"""The authorization endpoint: DOT's view with provider_app's consent page and remembered consent."""

from __future__ import annotations

from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.views import AuthorizationView as DOTAuthorizationView
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, InvalidClientIdError

from provider_app import audit, resource_servers
from provider_app.authorization_response import authorization_response_issuer, with_issuer
from provider_app.consent import has_consent, remember_consent
from provider_app.scopes import describe
from provider_app.security_headers import auth_page
from provider_app.two_factor.authorization import AuthenticationRequirementMixin


@auth_page
class AuthorizationView(AuthenticationRequirementMixin, DOTAuthorizationView):
    """Shows the consent page unless this user already approved these scopes for this client.

    Before consent, :class:`~provider_app.two_factor.authorization.AuthenticationRequirementMixin`
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
        refusal = resources and resource_servers.refusal_for(application, resources, scopes)
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
        from oauth2_provider.models import get_application_model

        return get_application_model().objects.filter(client_id=client_id).first()
