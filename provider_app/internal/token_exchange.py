"""RFC 8693 token exchange at the token endpoint: the grant, the server that offers it, its lookups.

- :class:`TokenExchangeGrant` (``urn:ietf:params:oauth:grant-type:token-exchange``): the request's
  shape (RFC 8693 2.1: the parameters, X1), client authentication (confidential clients only,
  RFC 8693 5 / RFC 6749 3.2.1, X2), and the response (RFC 8693 2.2.1: ``issued_token_type``,
  ``token_type``, no refresh token). Whether this client may exchange this subject token for
  this target, with which scopes and for how long, is decided by the validator
  (:meth:`provider_app.oauth2_validator.ProviderOAuth2Validator.validate_token_exchange`).
- The server that offers it is :class:`provider_app.views.token.Server`, DOT's
  ``OAUTH2_SERVER_CLASS`` (:func:`provider_app.conf.recommended_oauth2_provider_settings`).
- Lookups for the validator: the subject token by its SHA-256 (every token is stored hashed,
  P16), a client's exchange policy, its own audiences. They decide nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from provider_app.internal.login import authentication_claims, context_of_access_token
from provider_app.internal.tokens import digest
from provider_app.models import ExchangedToken, ResourceServer, TokenExchangePolicy

#: RFC 8693 2.1 / 3.
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
#: The longest chain of services acting for one user (RFC 8693 4.1 nested ``act``): an exchange that
#: would nest deeper is refused (two services allowed to call each other could otherwise grow a
#: token by one level per hop). resource_app refuses chains longer than 10.
MAX_ACTORS = 5
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

#: Parameters that may appear once (RFC 6749 3.2; RFC 8693 2.1 lets resource and audience repeat,
#: which is refused later as more than one target).
SINGLE_PARAMETERS = (
    "grant_type",
    "scope",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
)


class TokenExchangeGrant(GrantTypeBase):
    """RFC 8693 token exchange for confidential clients: an access token in, an access token out."""

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        # RFC 8693 2.2.1: no refresh token (the subject's holder refreshes the subject token).
        token = token_handler.create_token(request, refresh_token=False)
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        for modifier in self._token_modifiers:
            token = modifier(token)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def validate_token_request(self, request) -> None:
        for validator in self.custom_validators.pre_token:
            validator(request)
        if request.grant_type != GRANT_TYPE:
            raise errors.UnsupportedGrantTypeError(request=request)
        for name in SINGLE_PARAMETERS:
            if name in request.duplicate_params:
                raise errors.InvalidRequestError(description=f"Duplicate {name} parameter.", request=request)
        # RFC 8693 5 / X2: the client authenticates (a public client cannot: invalid_client) ...
        self.validate_client_confidential(request)
        # ... and may use this grant (a confidential client with a policy: unauthorized_client).
        self.validate_grant_type(request)
        check_parameters(request)
        self.request_validator.validate_token_exchange(request, targets_of(request))
        for validator in self.custom_validators.post_token:
            validator(request)


def _parameter(request, name: str) -> str | None:
    # oauthlib's request answers its body parameters as attributes (AttributeError when absent).
    value = getattr(request, name, None)
    return value if isinstance(value, str) and value else None


def check_parameters(request) -> None:
    """RFC 8693 2.1 (X1): what the request must carry, else ``invalid_request``."""
    subject_token = _parameter(request, "subject_token")
    subject_token_type = _parameter(request, "subject_token_type")
    if subject_token is None or subject_token_type is None:
        raise errors.InvalidRequestError(
            description="subject_token and subject_token_type are required.", request=request
        )
    if subject_token_type != ACCESS_TOKEN_TYPE:
        raise errors.InvalidRequestError(
            description="Only access tokens can be exchanged (subject_token_type).", request=request
        )
    actor_token = _parameter(request, "actor_token")
    actor_token_type = _parameter(request, "actor_token_type")
    if (actor_token is None) != (actor_token_type is None):
        # RFC 8693 2.1: actor_token_type is required when actor_token is present, and must not be
        # included otherwise.
        raise errors.InvalidRequestError(
            description="actor_token_type is sent exactly when actor_token is.", request=request
        )
    if actor_token is not None:
        # The actor is the authenticated client (RFC 8693 4.1 act names it); a separate actor
        # token would let a client claim to act for another party.
        raise errors.InvalidRequestError(
            description="The actor is the authenticated client; actor_token is not accepted.",
            request=request,
        )
    requested = _parameter(request, "requested_token_type")
    if requested is not None and requested != ACCESS_TOKEN_TYPE:
        raise errors.InvalidRequestError(
            description="Only access tokens are issued (requested_token_type).", request=request
        )
    if "resource" in request.duplicate_params or "audience" in request.duplicate_params:
        raise errors.CustomOAuth2Error(
            error="invalid_target", description="Ask for one target per exchange.", request=request
        )


def targets_of(request) -> list[str]:
    """The target services named by ``resource`` and ``audience`` (RFC 8693 2.1), in order."""
    values = [_parameter(request, "resource"), _parameter(request, "audience")]
    return list(dict.fromkeys(value for value in values if value is not None))


# --------------------------------------------------------------------------------------------------
# Lookups for the validator.
# --------------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One exchange as the validator accepted it; the storage writes it with the new token."""

    subject: Any  # the subject AccessToken
    act: dict
    source: str
    target: ResourceServer
    token_family: Any
    lifetime_cap: int
    #: ``auth_time``, ``amr``, ``acr`` of the user's authentication (RFC 9068 2.2.1, R2).
    authentication: dict = field(default_factory=dict)

    def record(self, access_token) -> ExchangedToken:
        return ExchangedToken(
            access_token=access_token,
            subject_token_id=self.subject.pk,
            token_family=self.token_family,
            act=self.act,
            authentication=self.authentication,
            source_audience=self.source,
            target_audience=self.target.identifier,
            expires=access_token.expires,
        )


def policy_of(application) -> TokenExchangePolicy | None:
    return TokenExchangePolicy.objects.filter(application=application).first()


def find_subject_token(value: str):
    """The stored access token ``value`` names (by its SHA-256), with its user, or None."""
    return (
        get_access_token_model()
        .objects.select_related("user", "application", "provider_app_exchange")
        .filter(token_checksum=digest(value))
        .first()
    )


def exchange_of(access_token) -> ExchangedToken | None:
    """The exchange that issued ``access_token``, if it was issued by one (read with the token)."""
    try:
        return access_token.provider_app_exchange
    except ExchangedToken.DoesNotExist:
        return None


def family_of(access_token, exchange: ExchangedToken | None):
    """The refresh-token family ``access_token`` belongs to: its refresh token's, or for an exchanged
    token the one its exchange inherited."""
    if exchange is not None:
        return exchange.token_family
    refresh_token = get_refresh_token_model().objects.filter(access_token=access_token).first()
    return refresh_token.token_family if refresh_token is not None else None


def authentication_of(access_token, exchange: ExchangedToken | None, token_family=None) -> dict:
    """The authentication claims behind ``access_token`` (of the refresh-token family
    ``token_family``): those its exchange carried along, or those recorded for its sign-in (R2)."""
    if exchange is not None:
        return dict(exchange.authentication or {})
    return authentication_claims(context_of_access_token(access_token, token_family))


def own_audiences(application) -> set[str]:
    """The identifiers of the registered resource servers whose own client ``application`` is."""
    return set(ResourceServer.objects.filter(client=application).values_list("identifier", flat=True))


def allowed_sources(policy: TokenExchangePolicy) -> set[str]:
    return set(policy.source_audiences.values_list("identifier", flat=True))


def allowed_target(policy: TokenExchangePolicy, identifier: str) -> ResourceServer | None:
    """The registered resource server ``identifier`` if the policy lets its client target it."""
    return policy.target_audiences.filter(identifier=identifier).first()


def allow_exchange(server: ResourceServer, target_identifiers: list[str]) -> TokenExchangePolicy:
    """Let ``server``'s own client exchange tokens of ``server`` for the ``target_identifiers``
    (registered resource servers): its policy, created if needed (the admin edits it too)."""
    if server.client is None:
        raise ValueError("Only a resource server with its own client (--client) may exchange tokens.")
    targets = list(ResourceServer.objects.filter(identifier__in=target_identifiers))
    missing = set(target_identifiers) - {target.identifier for target in targets}
    if missing:
        raise ValueError(f"No resource server with the identifier {sorted(missing)[0]!r}.")
    policy, _ = TokenExchangePolicy.objects.get_or_create(application=server.client)
    policy.source_audiences.add(server)
    policy.target_audiences.add(*targets)
    return policy


def actors(act) -> list[str]:
    """The ``sub`` of each actor of an RFC 8693 ``act`` claim, the current actor first."""
    chain = []
    while isinstance(act, dict) and act.get("sub"):
        chain.append(act["sub"])
        act = act.get("act")
    return chain
