"""The token endpoint (RFC 6749 3.2): DOT's view, without a lookup nobody needs, and the oauthlib
server behind it, which also offers RFC 8693 token exchange."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.signals import app_authorized
from oauthlib.openid import Server as OpenIDServer

from provider_app.internal import http
from provider_app.internal.token_exchange import GRANT_TYPE, TokenExchangeGrant

#: RFC 8628's grant: not offered by this provider (not in discovery).
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

#: Credentials a token request may carry: masked in Django's error reports (never in a log or an
#: e-mail to the admins): passwords, client secrets, codes and verifiers, refresh tokens, and the
#: bearer tokens an exchange presents (RFC 8693 subject_token and actor_token).
SENSITIVE_PARAMETERS = (
    "password",
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "subject_token",
    "actor_token",
)

#: RFC 6749 5.1/5.2: every token endpoint answer is JSON and never cached.
TOKEN_RESPONSE_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


class Server(OpenIDServer):
    """DOT's ``OAUTH2_SERVER_CLASS``: oauthlib's OpenID Connect server, whose token endpoint also
    offers RFC 8693 token exchange (:class:`provider_app.internal.token_exchange.TokenExchangeGrant`).
    DOT builds one per request; it lives beside the view so that a token request runs no more of
    provider_app's modules than before (tests/provider_app/test_structure.py)."""

    def __init__(self, request_validator, *args, **kwargs) -> None:
        super().__init__(request_validator, *args, **kwargs)
        self.token_exchange_grant = TokenExchangeGrant(request_validator)
        self.grant_types[GRANT_TYPE] = self.token_exchange_grant


@method_decorator(csrf_exempt, name="dispatch")  # as DOT's: clients POST without cookies
@method_decorator(sensitive_post_parameters(*SENSITIVE_PARAMETERS), name="dispatch")
class TokenView(dot_views.TokenView):
    """DOT's ``TokenView``, with the endpoint's HTTP rules in front of it (P26). After every
    successful response DOT reads the new access token back from the database to send
    ``app_authorized``; this view does that only when a receiver is connected, which saves one query
    per token response otherwise."""

    def dispatch(self, request, *args, **kwargs):
        # RFC 6749 3.2: POST only; every refusal before DOT's view is an RFC 6749 5.2 JSON error,
        # never Django's empty 405 or an HTML page for a body it cannot parse (P26).
        if request.method not in ("POST", "OPTIONS"):
            return http.method_not_allowed(("POST",), http.oauth_error)
        if request.method == "POST":
            try:
                grant_type = request.POST.get("grant_type")
            except http.UNPARSEABLE_BODY:
                return http.unparseable_body(http.oauth_error)
            # RFC 8628 is not offered: DOT's device branch, which reads ``device_code`` unchecked and
            # answers ``device_not_found`` (outside RFC 6749's error codes), is never reached.
            if grant_type == DEVICE_CODE_GRANT:
                return http.oauth_error(
                    "unsupported_grant_type", "The device authorization grant is not supported."
                )
        return super().dispatch(request, *args, **kwargs)

    def create_token_response(self, request):
        # An oauthlib error raised while the tokens are saved (a code redeemed concurrently, a
        # reused refresh token) reaches DOT without oauthlib's JSON headers.
        url, headers, body, status = super().create_token_response(request)
        return url, {**TOKEN_RESPONSE_HEADERS, **headers}, body, status

    @method_decorator(sensitive_post_parameters(*SENSITIVE_PARAMETERS))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        if app_authorized.has_listeners(type(self)):
            return super().authorization_flow_token_response(request, *args, **kwargs)
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response
