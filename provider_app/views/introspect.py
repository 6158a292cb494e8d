"""RFC 7662 introspection: a client sees its own tokens; only resource servers see others' (P22)."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.compat import login_not_required
from oauth2_provider.models import get_access_token_model
from oauth2_provider.settings import oauth2_settings

from provider_app.app_settings import app_settings
from provider_app.internal.clients import authenticated_client, bearer_application
from provider_app.internal.http import oauth_error
from provider_app.internal.token_exchange import exchange_of
from provider_app.internal.tokens import digest
from provider_app.models import ClientPolicy, ResourceServer


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectTokenView(View):
    """POST ``token`` with client credentials (or a bearer token with the ``introspection`` scope).

    Answers ``{"active": false}`` for a token the caller may not see, exactly as for an unknown one.
    """

    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        caller = authenticated_client(request) or bearer_application(request, "introspection")
        if caller is None:
            return oauth_error("invalid_client", "Client authentication failed.", status=401)
        token_value = request.POST.get("token")
        if not token_value:
            return oauth_error("invalid_request", "The token parameter is missing.")
        token = self._find(token_value)
        if token is None or not token.is_valid() or not may_see(caller, token, request):
            return _no_store(JsonResponse({"active": False}))
        if token.user is not None and not token.user.is_active:  # P24: a deactivated user's token
            return _no_store(JsonResponse({"active": False}))
        return _no_store(JsonResponse(introspection_claims(token, request)))

    @staticmethod
    def _find(token_value: str):
        checksum = digest(token_value)
        return (
            get_access_token_model()
            .objects.select_related("application", "user", "provider_app_exchange")
            .filter(token_checksum=checksum)
            .first()
        )


def token_audiences(token, request) -> set[str]:
    """RFC 8707: a token's audience is the ``resource`` it was requested for; a token requested
    without one is for :attr:`~provider_app.app_settings.AppSettings.DEFAULT_AUDIENCE` (the issuer
    unless set)."""
    if token.resource:
        return set(token.resource)
    return {app_settings.DEFAULT_AUDIENCE or oauth2_settings.oidc_issuer(request)}


def may_see(caller, token, request) -> bool:
    """RFC 7662 4 (P22): a client sees its own tokens; a resource server sees another client's
    token only if the token's audience is one of its ``resource_identifiers``, or if it is the client
    of the registered resource server the token is for."""
    if token.application_id == caller.pk:
        return True
    audiences = token_audiences(token, request)
    policy = ClientPolicy.objects.filter(application=caller, is_resource_server=True).first()
    if policy is not None and not audiences.isdisjoint(policy.audiences()):
        return True
    # The own client of the registered resource server the token is for (provider_app.models).
    return (
        bool(token.resource)
        and ResourceServer.objects.filter(client=caller, identifier__in=audiences).exists()
    )


def introspection_claims(token, request=None) -> dict:
    claims = {
        "active": True,
        "iss": oauth2_settings.oidc_issuer(request),
        "scope": token.scope,
        "token_type": "Bearer",
        "exp": int(token.expires.timestamp()),
        "iat": int(token.created.timestamp()),
    }
    if token.application is not None:
        claims["client_id"] = token.application.client_id
    if token.user is not None:
        claims["sub"] = str(token.user.pk)
        claims["username"] = token.user.get_username()
    elif token.application is not None:
        claims["sub"] = token.application.client_id  # client_credentials: the client (RFC 9068 2.2)
    if token.resource:
        claims["aud"] = token.resource
    exchange = exchange_of(token)  # read with the token (IntrospectTokenView._find)
    if exchange is not None:
        claims["act"] = exchange.act  # RFC 8693 4.1 (X5): the acting client, nested for a chain
    return claims


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response
