"""Logging out: locally, optionally at the provider (OpenID Connect RP-Initiated Logout 1.0 section 2)
and optionally revoking the stored tokens (RFC 7009)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import logout as django_logout

from client_app.exceptions import ClientAppError
from client_app.internal import backchannel_logout, metadata, token_store
from client_app.internal.session import SESSION_PROVIDER_KEY
from client_app.models import Provider, TokenSet


def provider_logout_url(provider: Provider, user, post_logout_redirect_uri: str) -> str:
    """The end-session URL for ``provider``, or "" when it has none or RP logout is off."""
    if not provider.logout_at_provider:
        return ""
    try:
        endpoint = metadata.get_metadata(provider).end_session_endpoint
    except ClientAppError:
        return ""
    if not endpoint:
        return ""
    params = {"client_id": provider.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if provider.logout_send_id_token_hint:
        token_set = TokenSet.objects.filter(user=user, provider=provider).first()
        if token_set is not None and token_set.id_token:
            params["id_token_hint"] = token_set.id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"


def logout(request, post_logout_redirect_uri: str) -> str:
    """Log the user out here; returns the provider's end-session URL to continue to, or ""."""
    user = request.user
    provider = Provider.objects.filter(slug=request.session.get(SESSION_PROVIDER_KEY), enabled=True).first()
    next_url = ""
    if user.is_authenticated and provider is not None:
        next_url = provider_logout_url(provider, user, post_logout_redirect_uri)
    if user.is_authenticated:
        for revoking in Provider.objects.filter(revoke_tokens_on_logout=True):
            token_store.revoke_and_delete(user, revoking)
    backchannel_logout.forget_session(request.session.session_key)
    django_logout(request)
    return next_url
