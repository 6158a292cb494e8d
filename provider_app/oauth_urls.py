"""The OAuth 2.0 / OpenID Connect endpoints, in DOT's ``oauth2_provider`` namespace.

Mount with ``path("o/", include("provider_app.oauth_urls"))``: the issuer is then ``<origin>/o``
and discovery lives at ``<origin>/o/.well-known/openid-configuration``.
"""

from __future__ import annotations

from django.urls import path, re_path
from oauth2_provider import views as dot_views

from provider_app.internal.http import bearer_parseable_body, parseable_body
from provider_app.views.authorize import AuthorizationView
from provider_app.views.discovery import DiscoveryView, JwksView
from provider_app.views.introspect import IntrospectTokenView
from provider_app.views.logout import RPInitiatedLogoutView
from provider_app.views.token import TokenView
from provider_app.views.userinfo import UserInfoView

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", AuthorizationView.as_view(), name="authorize"),
    path("token/", TokenView.as_view(), name="token"),  # its guards are in the view
    path("revoke_token/", parseable_body(dot_views.RevokeTokenView.as_view()), name="revoke-token"),
    path("introspect/", parseable_body(IntrospectTokenView.as_view()), name="introspect"),
    re_path(
        r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(), name="oidc-connect-discovery-info"
    ),
    # RFC 8414 metadata, the same document. DOT also derives the RFC 9207 ``iss`` of authorization
    # responses from this route when OIDC_ISS_ENDPOINT is unset, so it must live beside the others.
    path(".well-known/oauth-authorization-server", DiscoveryView.as_view(), name="oauth-server-metadata"),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks-info"),
    path("userinfo/", bearer_parseable_body(UserInfoView.as_view()), name="user-info"),
    path("logout/", RPInitiatedLogoutView.as_view(), name="rp-initiated-logout"),
]
