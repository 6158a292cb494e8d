"""OpenID Connect RP-Initiated Logout 1.0 with provider_app's template and exact URI matching."""

from __future__ import annotations

from django.contrib.auth import logout
from oauth2_provider.exceptions import InvalidOIDCClientError, InvalidOIDCRedirectURIError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import RPInitiatedLogoutView as DOTRPInitiatedLogoutView
from oauthlib.common import add_params_to_uri

from provider_app.app_settings import app_settings
from provider_app.internal.clients import (
    find_client,
    is_redirect_uri_transport_allowed,
    is_registered_redirect_uri,
)
from provider_app.internal.http import auth_page
from provider_app.internal.tokens import revoke_client_tokens


@auth_page
class RPInitiatedLogoutView(DOTRPInitiatedLogoutView):
    """The end-session endpoint. ``template_name`` may be overridden; the template receives
    ``form`` (hidden fields, an ``allow`` button), ``application`` when known, and ``error``.

    P27: it ends only the provider session of the signed-in user, after that user confirms (a POST
    with ``allow``). An ``id_token_hint`` names the client and where to go back; it authorises
    nothing. DOT deletes every access and refresh token of the hint's user at every client, even for
    an anonymous request (``OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS``); here tokens are revoked only
    when ``PROVIDER_APP_LOGOUT_REVOKES_CLIENT_TOKENS`` asks for it, and then only those of the client
    the hint was issued to, and only if the hint belongs to the user who confirmed.
    """

    template_name = "provider_app/logout_confirm.html"

    def get_request_application(self, id_token, client_id):
        # DOT looks the client up with .get(): an unknown client_id would be a 500.
        if client_id:
            application = find_client(client_id)
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

    def must_prompt(self, token_user):
        # OIDC RP-Initiated Logout 2: the OP asks the End-User. Without a session nothing is ended.
        return self.request.user.is_authenticated

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        user = self.request.user
        if (
            app_settings.LOGOUT_REVOKES_CLIENT_TOKENS
            and application is not None
            and user.is_authenticated
            and token_user is not None
            and token_user.pk == user.pk
        ):
            revoke_client_tokens(user, application)
        logout(self.request)
        if not post_logout_redirect_uri:
            return OAuth2ResponseRedirect(
                self.request.build_absolute_uri("/"), oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES
            )
        if state:
            post_logout_redirect_uri = add_params_to_uri(post_logout_redirect_uri, [("state", state)])
        return OAuth2ResponseRedirect(post_logout_redirect_uri, application.get_allowed_schemes())
