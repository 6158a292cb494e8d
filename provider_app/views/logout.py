"""OpenID Connect RP-Initiated Logout 1.0 with provider_app's template and exact URI matching."""

from __future__ import annotations

from oauth2_provider.exceptions import InvalidOIDCClientError, InvalidOIDCRedirectURIError
from oauth2_provider.models import get_application_model
from oauth2_provider.views import RPInitiatedLogoutView as DOTRPInitiatedLogoutView

from provider_app.redirect_uris import is_redirect_uri_transport_allowed, is_registered_redirect_uri
from provider_app.security_headers import auth_page


@auth_page
class RPInitiatedLogoutView(DOTRPInitiatedLogoutView):
    """The end-session endpoint. ``template_name`` may be overridden; the template receives
    ``form`` (hidden fields, an ``allow`` button), ``application`` when known, and ``error``."""

    template_name = "provider_app/logout_confirm.html"

    def get_request_application(self, id_token, client_id):
        # DOT looks the client up with .get(): an unknown client_id would be a 500.
        if client_id:
            application = None
            if "\x00" not in client_id:  # never a client_id; PostgreSQL would raise DataError on it
                application = get_application_model().objects.filter(client_id=client_id).first()
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return super().get_request_application(id_token, client_id)

    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        super().validate_post_logout_redirect_uri(application, post_logout_redirect_uri)
        if not post_logout_redirect_uri:
            return
        # The same rules as for redirect URIs: exact string match (RFC 9700 2.1), http on loopback only.
        registered = application.post_logout_redirect_uris.split()
        if not is_redirect_uri_transport_allowed(post_logout_redirect_uri) or not is_registered_redirect_uri(
            post_logout_redirect_uri, registered
        ):
            raise InvalidOIDCRedirectURIError("This client does not have this redirect uri registered.")
