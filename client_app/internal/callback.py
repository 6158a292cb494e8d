"""The redirection endpoint's work (RFC 6749 4.1.2): state, iss, errors, code exchange, ID token,
UserInfo. Pure flow logic: no Django request in the signatures, so it is tested without views."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from client_app.app_settings import app_settings
from client_app.exceptions import AuthorizationError, InvalidIdToken, InvalidState, ProviderError
from client_app.internal import id_token, metadata, tokens, userinfo
from client_app.internal.tokens import TokenResponse
from client_app.models import PendingLogin, Provider, hash_value

# RFC 6749 4.1.2.1 and OIDC Core 3.1.2.6 error codes, in plain words. The provider's
# error_description is not shown: anyone can put any text in a callback URL.
AUTHORIZATION_ERRORS = {
    "access_denied": "You did not allow the sign-in at the provider.",
    "invalid_request": "The provider refused the sign-in request as malformed.",
    "unauthorized_client": "This site is not allowed to sign in with the provider this way.",
    "unsupported_response_type": "The provider does not support this kind of sign-in.",
    "invalid_scope": "The provider refused the requested permissions.",
    "server_error": "The provider had an internal error.",
    "temporarily_unavailable": "The provider is temporarily unavailable.",
    "interaction_required": "The provider needs you to interact with it.",
    "login_required": "You need to sign in at the provider.",
    "account_selection_required": "You need to choose an account at the provider.",
    "consent_required": "The provider needs your consent.",
    "invalid_request_uri": "The provider refused the sign-in request.",
    "invalid_request_object": "The provider refused the sign-in request.",
    "request_not_supported": "The provider refused the sign-in request.",
    "request_uri_not_supported": "The provider refused the sign-in request.",
    "registration_not_supported": "The provider refused the sign-in request.",
}


@dataclass
class Identity:
    """A validated login: who the provider says the user is, and the tokens it issued."""

    provider: Provider
    sub: str
    claims: dict[str, Any]
    token_response: TokenResponse
    action: str
    next_url: str
    connect_user_id: int | None
    id_token_claims: dict[str, Any] = field(default_factory=dict)


def consume_state(provider: Provider, state: str | None, session_binding: str | None) -> PendingLogin:
    """C1: the state must be known, unexpired, bound to this browser session, and is used once."""
    if not state or not session_binding:
        raise InvalidState("This sign-in link is not valid in this browser.")
    with transaction.atomic():
        pending = PendingLogin.objects.filter(state_hash=hash_value(state)).first()
        if pending is None:
            raise InvalidState("This sign-in was already used or is unknown. Please start again.")
        # C17: the browser binding is checked before the row is touched, so that another browser
        # that learned the state cannot burn the pending login of the one that started it.
        if not hmac.compare_digest(pending.session_binding_hash, hash_value(session_binding)):
            raise InvalidState("This sign-in was started in another browser. Please start again.")
        # Deleting before anything else makes the state single-use when two callbacks race.
        if PendingLogin.objects.filter(pk=pending.pk).delete()[0] != 1:
            raise InvalidState("This sign-in was already used or is unknown. Please start again.")
    if pending.provider_id != provider.pk:
        raise InvalidState("This sign-in was started with another provider. Please start again.")
    if pending.expires_at < timezone.now():
        raise InvalidState(
            "This sign-in took too long and expired. Please start again.", code="expired_state"
        )
    return pending


def check_issuer(params: dict[str, str], provider_metadata: metadata.ProviderMetadata) -> None:
    """C4, RFC 9207 2.4: a present ``iss`` must be the issuer; if advertised, it must be present."""
    if "iss" in params:
        if params["iss"] != provider_metadata.issuer:
            raise AuthorizationError("The answer came from another issuer (mix-up attack?).", code="bad_iss")
    elif provider_metadata.iss_parameter_supported:
        raise AuthorizationError("The provider's answer lacks its issuer (iss).", code="missing_iss")


def check_error(params: dict[str, str]) -> None:
    error = params.get("error")
    if error is not None:
        message = AUTHORIZATION_ERRORS.get(error, "The provider refused the sign-in.")
        raise AuthorizationError(
            message, code=error if error in AUTHORIZATION_ERRORS else "authorization_error"
        )


@sensitive_variables()
def handle(provider: Provider, params: dict[str, str], session_binding: str | None) -> Identity:
    """Everything between the provider's redirect and the account decision."""
    pending = consume_state(provider, params.get("state"), session_binding)
    provider_metadata = metadata.get_metadata(provider)
    check_issuer(params, provider_metadata)
    check_error(params)
    code = params.get("code")
    if not code:
        raise AuthorizationError("The provider's answer has no authorization code.", code="missing_code")
    token_response = tokens.exchange_code(
        provider,
        provider_metadata.require("token_endpoint"),
        code=code,
        redirect_uri=pending.redirect_uri,
        code_verifier=pending.code_verifier,
    )
    sub, claims, id_token_claims = _identify(provider, provider_metadata, token_response, pending.nonce)
    return Identity(
        provider=provider,
        sub=sub,
        claims=claims,
        token_response=token_response,
        action=pending.action,
        next_url=pending.next_url,
        connect_user_id=pending.user_id,
        id_token_claims=id_token_claims,
    )


@sensitive_variables()
def _identify(provider, provider_metadata, token_response: TokenResponse, nonce: str):
    id_token_claims: dict[str, Any] = {}
    if provider.is_openid:
        if not token_response.id_token:
            raise InvalidIdToken("The provider sent no ID token.", code="missing_id_token")
        id_token_claims = validate_id_token(
            provider,
            provider_metadata,
            token_response.id_token,
            nonce=nonce,
            access_token=token_response.access_token,
        )
    claims = dict(id_token_claims)
    if provider_metadata.userinfo_endpoint:
        info = userinfo.fetch(provider_metadata.userinfo_endpoint, token_response.access_token)
        if provider.is_openid:
            userinfo.check_subject(info, id_token_claims["sub"])
        else:
            info = {**info, "sub": _plain_oauth_subject(provider, info)}
        claims.update(info)
    elif not provider.is_openid:
        raise ProviderError(
            "Without OpenID Connect the provider needs a UserInfo endpoint.", code="missing_endpoint"
        )
    if _holds_nul(claims):
        # C15: PostgreSQL stores no NUL in text or jsonb; the claims would end in a 500.
        raise ProviderError("The provider's user information is malformed.", code="malformed_response")
    return claims["sub"], claims, id_token_claims


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _plain_oauth_subject(provider: Provider, info: dict[str, Any]) -> str:
    subject = info.get(provider.subject_claim)
    if isinstance(subject, bool) or not isinstance(subject, str | int) or str(subject) == "":
        raise ProviderError("The provider's user information has no identifier.", code="missing_subject")
    return str(subject)


@sensitive_variables()
def validate_id_token(
    provider, provider_metadata, raw: str, *, nonce: str | None, access_token: str | None = None
):
    jwks_uri = provider_metadata.require("jwks_uri")
    return id_token.validate(
        raw,
        issuer=provider.issuer,
        client_id=provider.client_id,
        nonce=nonce,
        allowed=provider.allowed_algorithms,
        get_jwks=lambda refresh: metadata.get_jwks(jwks_uri, refresh=refresh),
        leeway=app_settings.CLOCK_SKEW_SECONDS,
        max_age=app_settings.ID_TOKEN_MAX_AGE_SECONDS,
        access_token=access_token,
    )
