"""``auth_time``, ``amr`` and ``acr`` in the ID token (OIDC Core 2, RFC 8176; P19).

The authorization endpoint knows the browser session; the token endpoint does not. So when a code
is issued, :func:`remember_for_code` stores how the user authenticated (an
:class:`~provider_app.two_factor.models.AuthenticationContext` keyed by the code's SHA-256); the
validator finds it again with :func:`context_for_token_request` and puts it in the ID token.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from provider_app.two_factor.models import AuthenticationContext
from provider_app.two_factor.session import session_authentication

#: Attribute of a grant loaded by provider_app.grant_lookup: its context, loaded with it.
PREFETCHED_CONTEXT = "provider_app_prefetched_context"
#: Where the validator keeps the grant of a token request (authorization_codes.VALIDATED_GRANT).
VALIDATED_GRANT = "provider_app_grant"

SUPPORTED_CLAIMS = ["auth_time", "amr", "acr"]
# Contexts of codes never redeemed are removed after this long (codes live 60 s, P6).
UNREDEEMED_LIFETIME = timedelta(hours=1)


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def remember_for_code(request: HttpRequest, code: str) -> AuthenticationContext:
    """Store the session's authentication for the authorization ``code`` just issued."""
    user = request.user
    authentication = session_authentication(request)
    if authentication is not None:
        auth_time = datetime.fromtimestamp(authentication.time, tz=UTC)
        amr, acr = authentication.amr, (authentication.acr if authentication.methods else "")
    else:  # not reachable through AuthorizationView, which demands a known authentication first
        auth_time, amr, acr = timezone.now(), [], ""
    AuthenticationContext.objects.filter(
        user=user, id_token__isnull=True, created__lt=timezone.now() - UNREDEEMED_LIFETIME
    ).delete()
    return AuthenticationContext.objects.create(
        user=user, code_digest=code_digest(code), auth_time=auth_time, amr=amr, acr=acr
    )


def context_for_token_request(request) -> AuthenticationContext | None:
    """The context behind an oauthlib token request: by its code, or through the refreshed tokens."""
    if getattr(request, "grant_type", None) == "authorization_code" and getattr(request, "code", None):
        grant = getattr(request, VALIDATED_GRANT, None)
        if grant is not None and hasattr(grant, PREFETCHED_CONTEXT) and grant.user_id == request.user.pk:
            return getattr(grant, PREFETCHED_CONTEXT)  # loaded with the grant (provider_app.grant_lookup)
        return (
            AuthenticationContext.objects.filter(code_digest=code_digest(request.code), user=request.user)
            .order_by("-pk")
            .first()
        )
    refresh_token = getattr(request, "refresh_token_instance", None)
    access_token = getattr(refresh_token, "access_token", None) if refresh_token else None
    id_token = getattr(access_token, "id_token", None) if access_token else None
    if id_token is None:
        return None
    return AuthenticationContext.objects.filter(id_token=id_token).first()


def id_token_claims(context: AuthenticationContext | None) -> dict[str, Any]:
    """The claims a context contributes; ``auth_time`` always, ``amr``/``acr`` when known."""
    if context is None:
        return {}
    claims: dict[str, Any] = {"auth_time": int(context.auth_time.timestamp())}
    if context.amr:
        claims["amr"] = list(context.amr)
    if context.acr:
        claims["acr"] = context.acr
    return claims


def attach_to_id_token(context: AuthenticationContext | None, id_token, batch=None) -> None:
    """The ID token now carries this context: a refresh finds it through the token (OIDC Core 12.2).

    With ``batch`` (the token response's :class:`provider_app.row_batch.RowBatch`, which holds the
    ID token row) the link is written with it."""
    if context is None:
        return
    if batch is not None:
        batch.update(AuthenticationContext, context.pk, id_token_id=id_token, code_digest=None)
        return
    AuthenticationContext.objects.filter(pk=context.pk).update(id_token=id_token, code_digest=None)
