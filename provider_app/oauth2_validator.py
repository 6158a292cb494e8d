"""The protocol rules of provider_app: one DOT validator subclass (``OAUTH2_VALIDATOR_CLASS``).

Every protocol decision provider_app adds to DOT's is a method of :class:`ProviderOAuth2Validator`,
in sections by spec, with the section cited at the line that enforces it. What the methods hand off
decides nothing: storage (:mod:`provider_app.internal.storage`, one transaction and one batch
of rows), lookups and caches (:mod:`provider_app.internal.clients`, :mod:`~provider_app.internal.tokens`),
the signing keys (:mod:`~provider_app.internal.signing_keys`), what was recorded at login
(:mod:`~provider_app.internal.login`). State between the steps of one request is one
:class:`~provider_app.internal.storage.TokenRequestState`.

Rules that need what oauthlib's request does not carry are enforced where that is, one hop away:

- the browser session (``prompt=login``, ``max_age``, ``acr_values``, the two-factor policy; OIDC
  Core 3.1.2.1): ``AuthenticationRequirementMixin`` in :mod:`provider_app.views.authorize`, with
  :mod:`provider_app.internal.login_requirements`; ``prompt=none`` answers reach
  :meth:`ProviderOAuth2Validator.validate_silent_login` below;
- consent remembered and ``prompt=consent``, ``iss`` on every authorization response (RFC 9207):
  ``AuthorizationView`` in :mod:`provider_app.views.authorize`;
- who may introspect which token (RFC 7662 4, P22): ``may_see`` in :mod:`provider_app.views.introspect`;
- the shape of a token exchange request and its client authentication (RFC 8693 2.1, 5; X1, X2):
  ``TokenExchangeGrant`` in :mod:`provider_app.internal.token_exchange`; what it may issue is
  decided below (:meth:`ProviderOAuth2Validator.validate_token_exchange`);
- RP-initiated logout (P27): :mod:`provider_app.views.logout`; a bearer token in the Authorization
  header only (RFC 6750 2, RFC 9700 4.3.2): :mod:`provider_app.views.userinfo` and
  :mod:`provider_app.api.authentication`.

Subclass it to release more claims (override :meth:`get_additional_claims` and extend
``oidc_claim_scope``) and point ``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]`` at the subclass.
"""

from __future__ import annotations

import json
import time
import uuid
from functools import cache
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import router, transaction
from jwcrypto import jws, jwt
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from provider_app import signals
from provider_app.audit import TOKEN_EXCHANGED, TOKEN_ISSUED, TOKEN_REFRESHED, record
from provider_app.internal import (
    clients,
    login,
    resources,
    revocation_events,
    signing_keys,
    token_exchange,
    tokens,
)
from provider_app.internal.login_requirements import SILENT_AUTHORIZATION_META, SILENT_LOGIN_META
from provider_app.internal.storage import TokenStorageMixin, in_one_transaction, row_batch, save_row, state_of
from provider_app.internal.tokens import (
    digest,
    family_of_access_token,
    note_token_use,
    revoke_exchanged_tokens,
    revoke_token_family,
)
from provider_app.models import ResourceServer

#: Parameters stored with the code, and their columns' lengths in DOT's Grant (a longer value would
#: reach PostgreSQL and fail there). An S256 challenge is exactly 43 characters (RFC 7636 4.2).
MAX_STORED_LENGTHS = {"nonce": 255, "code_challenge": 128}


class RefreshTokenReused(Exception):
    """A refresh token was already rotated (or revoked) when its rotation got the lock."""

    def __init__(self, refresh_token) -> None:
        super().__init__("refresh token reused")
        self.refresh_token = refresh_token


class ProviderOAuth2Validator(TokenStorageMixin, OAuth2Validator):
    """DOT's validator with provider_app's stricter rules and its claims (see the module)."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope}

    # == Clients (RFC 6749 2.3, 3.1.2; RFC 9700 2.1, 2.5, 2.6) =========================================

    def _load_application(self, client_id, request):
        # A client_id with a NUL byte names no client (PostgreSQL would refuse it with a DataError).
        if not clients.is_possible_client_id(client_id):
            return None
        # From the shared cache when it may be served (P15, P23), else DOT's database read.
        return clients.load_application(client_id, request, super()._load_application)

    def _authenticate_basic_auth(self, request) -> bool:
        # A non-ASCII Authorization header makes base64.b64decode raise ValueError, which DOT does
        # not catch (it catches binascii.Error): RFC 6749 5.2 invalid_client, not a 500.
        try:
            return super()._authenticate_basic_auth(request)
        except ValueError:
            return False

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs) -> bool:
        # RFC 9700 2.6: http only for loopback.
        if not clients.is_redirect_uri_transport_allowed(redirect_uri):
            return False
        # RFC 9700 2.1 / OIDC Core 3.1.2.1: simple string comparison (DOT compares parsed
        # components, so "https://CLIENT.example.com" would match); RFC 8252 7.3 loopback ports.
        if not clients.is_registered_redirect_uri(redirect_uri, request.client.redirect_uris.split()):
            return False
        return super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs)

    # == The authorization request (RFC 6749 4.1.1; OIDC Core 3.1.2) ================================

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs) -> bool:
        # RFC 9700 2.1.2 / OAuth 2.1: only "code". DOT refuses implicit response types but still
        # issues hybrid ones ("code id_token") to clients registered for openid-hybrid.
        if response_type != "code":
            return False
        # The first hook after client and redirect URI are known: RFC 6749 4.1.2.1 invalid_request
        # goes back to the client for a parameter too long to be stored with the code.
        for name, limit in MAX_STORED_LENGTHS.items():
            value = getattr(request, name, None)
            if value and len(value) > limit:
                raise errors.InvalidRequestError(
                    description=f"The {name} parameter is too long.", request=request
                )
        return super().validate_response_type(client_id, response_type, client, request, *args, **kwargs)

    def validate_silent_login(self, request) -> bool:
        # OIDC Core 3.1.2.1 prompt=none: only the authorization view sees the browser session; it
        # answers through a request.META key (never reachable from an HTTP header). Anything else
        # means "not silently possible": login_required.
        return request.headers.get(SILENT_LOGIN_META) == "1"

    def validate_silent_authorization(self, request) -> bool:
        # OIDC Core 3.1.2.1 prompt=none: consent_required unless the view found a remembered consent.
        return request.headers.get(SILENT_AUTHORIZATION_META) == "1"

    # == Authorization codes (RFC 6749 4.1.2-4.1.3; RFC 7636; P5, P16) ================================

    def _create_authorization_code(self, request, code, expires=None):
        # P16 / RFC 9700 4.14: a code is stored as its SHA-256 only.
        return super()._create_authorization_code(request, {**code, "code": digest(code["code"])}, expires)

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        grant = tokens.find_grant_for_request(code, request, client)
        if grant is None:
            # RFC 6749 4.1.2: a code used more than once revokes what it issued (P5).
            self._answer_code_replay(code, request)
            return False
        # Later checks (PKCE, redirect_uri, nonce) read this grant, never the table again: a
        # concurrent redemption may delete the row meanwhile (DOT then raised Grant.DoesNotExist).
        state_of(request).grant = grant
        if grant.is_expired():
            return False  # RFC 6749 4.1.2: codes are short-lived (OAuth 2.1 4.1.2: 60 s here)
        if not grant.user.is_active:
            return False  # P24: a deactivated user's pending code is worth nothing
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce  # OIDC Core 3.1.3.6: the ID token repeats the nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def _grant(self, code: str, request, client=None):
        validated = state_of(request).grant
        if validated is not None:
            return validated
        return tokens.find_grant(code, client if client is not None else getattr(request, "client", None))

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs) -> bool:
        # RFC 6749 4.1.3: the redirect_uri of the token request is the authorization request's.
        request = kwargs.get("request") or (args[0] if args else None)
        grant = self._grant(code, request, client)
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    def get_code_challenge(self, code, request):
        # RFC 7636 4.6: the verifier is checked against the challenge stored with this code (DOT
        # reads it by the raw code, which is not stored: P16). PKCE_REQUIRED: RFC 9700 2.1.1.
        grant = self._grant(code, request)
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code, request):
        # RFC 7636 4.3 / RFC 9700 2.1.1: S256 only (COMPLIANT_BCP_RFC9700_PKCE_METHOD, provider_app.E003).
        grant = self._grant(code, request)
        return (grant.code_challenge_method or None) if grant is not None else None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        # OIDC Core 3.1.3: whether the code was issued for "openid" decides OAuth or OpenID Connect.
        grant = state_of(request).grant or tokens.find_grant_for_request(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = state_of(request).grant or tokens.find_grant_for_request(code, request)
        return (grant.nonce or None) if grant is not None else None

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        # RFC 6749 4.1.2: a code is used once. It was deleted with the token insert (_save_bearer_token).
        if state_of(request).code_claimed:
            return
        grant = tokens.find_grant(code, request.client)
        if grant is None or not type(grant).objects.filter(pk=grant.pk).delete()[0]:
            raise errors.InvalidGrantError(request=request)

    def _check_and_set_request_resource(self, request) -> None:
        audience = state_of(request).audience
        if audience is not None:
            # Resolved by the token generator (resolve_audience): what the access token is for.
            request.resource = audience.resource
            return
        # RFC 8707 2.2: DOT narrows the resource against the grant it finds by the raw code; the grant
        # is stored hashed and consumed meanwhile, so run DOT's normalisation and narrow here.
        grant = state_of(request).grant
        if request.grant_type != "authorization_code" or grant is None:
            return super()._check_and_set_request_resource(request)
        request.grant_type = "provider_app:validated_authorization_code"
        try:
            super()._check_and_set_request_resource(request)
        finally:
            request.grant_type = "authorization_code"
        grant_resource = grant.resource or []
        if request.resource and grant_resource:
            for resource in request.resource:
                if resource not in grant_resource:
                    # RFC 8707 2.2: a token request may only narrow the grant's resources.
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description="The requested resource was not part of the authorization grant.",
                        request=request,
                    )
        elif grant_resource:
            self._validate_resource_uris(request, grant_resource)
            request.resource = grant_resource

    # == Resource indicators and the registry (RFC 8707; RFC 9068; R3, R4) ============================

    def resolve_audience(self, request) -> tokens.Audience:
        """The registered resource servers the access token of this token request is for (called by
        the token generator, :func:`provider_app.internal.tokens.generate_access_token`)."""
        exchange = state_of(request).exchange
        if request.grant_type == token_exchange.GRANT_TYPE and exchange is not None:
            return tokens.Audience([exchange.target])  # RFC 8693 2.1: validate_token_exchange
        original = _refreshed_resources(request)
        if isinstance(getattr(request, "resource", None), list):
            request.resource = _checked_resources(request, request.resource)
        self._check_and_set_request_resource(request)  # RFC 8707 2.2: normalise, narrow, inherit
        identifiers = _checked_resources(request, request.resource or [])
        # RFC 9068 3: the issuer names the provider's own audience (the default one), for every client.
        names = tokens.default_audiences(request)
        own = [r for r in identifiers if tokens.is_default_audience(r, names)]
        identifiers = request.resource = [r for r in identifiers if r not in own]
        grant_resources = _grant_resources(request, original)
        if grant_resources == [] and identifiers:
            # RFC 8707 2.2 / R4: a code exchange or a refresh narrows the grant's resources; it never
            # adds one to a grant that had none (its tokens are for the default audience, which the
            # request may still name: ``own``, filtered out above).
            grant = "refresh token" if original is not None else "authorization code"
            raise _invalid_target(request, f"The {grant} was not issued for a resource.")
        if own and identifiers:
            # R3: an opaque token for the default audience has no resource restriction; one also
            # bound to resources would be both. The client asks for one audience per token.
            raise _invalid_target(
                request, "Ask for the provider's own audience or for resources: one per token."
            )
        if not identifiers:
            return tokens.Audience([], grant_resources)  # RFC 9068 3: the default audience
        registered = resources.registered_servers(identifiers)
        for identifier in identifiers:
            if not resources.allows(registered.get(identifier), request.client):
                # RFC 8707 2 / R3: a resource the client may not ask for is invalid_target.
                raise _invalid_target(
                    request, "The requested resource is unknown, or this client may not ask for it."
                )
            foreign = resources.foreign_scopes(registered[identifier], request.scopes)
            if foreign:
                # RFC 6749 5.2 invalid_scope: a scope the resource does not understand.
                raise errors.InvalidScopeError(
                    description=f"The resource does not understand the scope {sorted(foreign)[0]!r}.",
                    request=request,
                )
        servers = [registered[identifier] for identifier in identifiers]
        if len(servers) > 1 and any(s.token_format == ResourceServer.JWT for s in servers):
            # RFC 9068 2.2: a JWT access token has one audience; an ambiguous one is never issued.
            raise _invalid_target(
                request, "Ask for one resource per token: a JWT access token has one audience."
            )
        return tokens.Audience(servers, grant_resources)

    def resource_refusal(
        self, application, identifiers: list[str], scopes: list[str], request=None
    ) -> str | None:
        """Why an authorization request naming ``identifiers`` must get ``invalid_target`` (RFC 8707 2),
        or None: the registry's rules, checked before the user is asked (the consent page). The
        provider's own audience (the issuer of ``request``, RFC 9068 3) needs no registry entry."""
        identifiers = list(dict.fromkeys(identifiers))
        if len(identifiers) > MAX_RESOURCES or any(not r.isprintable() for r in identifiers):
            return "Too many resources, or a resource that is not an absolute URI."
        if request is not None:
            names = tokens.default_audiences(request)
            identifiers = [r for r in identifiers if not tokens.is_default_audience(r, names)]
        registered = resources.registered_servers(identifiers)
        for identifier in identifiers:
            if not resources.allows(registered.get(identifier), application):
                return "The requested resource is unknown, or this client may not ask for it."
            if resources.foreign_scopes(registered[identifier], scopes):
                return "The resource does not understand a requested scope."
        return None

    # == What the access token says: lifetime and RFC 9068 claims (RFC 9068 2.2; R1, R2; X4) =========

    def access_token_lifetime(self, request, default: int) -> int:
        """Seconds the access token of this request lives: its resources' own lifetime (the
        shortest, RFC 9068 / RFC 8707), for an exchanged token no longer than its subject token
        (RFC 8693, X4)."""
        state = state_of(request)
        seconds = state.audience.lifetime(default) if state.audience is not None else default
        if state.exchange is not None:
            seconds = min(seconds, state.exchange.lifetime_cap)
        return seconds

    def jwt_access_token_claims(self, request, server: ResourceServer) -> dict:
        """The claims of an RFC 9068 JWT access token for ``server`` (signed by the token generator,
        :func:`provider_app.internal.tokens.generate_access_token`; R1, R2)."""
        now = int(time.time())
        client_id = request.client.client_id
        # RFC 9068 2.2: ``sub`` is the resource owner, or the client itself for client_credentials.
        user = request.user if getattr(request, "grant_type", "") != "client_credentials" else None
        lifetime = self.access_token_lifetime(
            request, int(request.expires_in or oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        )
        claims = {
            "iss": oauth2_settings.oidc_issuer(request),
            "exp": now + lifetime,
            "aud": server.identifier,  # RFC 9068 2.2: one audience, the resource (RFC 8707)
            "sub": str(user.pk) if user is not None and getattr(user, "pk", None) else client_id,
            "client_id": client_id,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        if request.scopes:
            claims["scope"] = " ".join(request.scopes)
        if user is not None:
            # RFC 9068 2.2.1 / R2: the authentication behind the grant, kept across refresh.
            claims.update(login.authentication_claims(login.context_of(request)))
        exchange = state_of(request).exchange
        if exchange is not None:
            claims.update(exchange.authentication)  # R2: the user's authentication behind the subject
            claims["act"] = exchange.act  # RFC 8693 4.1: the acting client, nested for a chain (X5)
        return claims

    # == The token response (RFC 6749 5.1; RFC 9700 4.14.2; P5, P8) ===================================

    def save_bearer_token(self, token, request, *args, **kwargs):
        # One transaction: claim the code (or lock the refresh token), insert the tokens, record the
        # redemption, write the audit event (_save_bearer_token); nothing is stored if a step fails.
        try:
            return in_one_transaction(
                request, lambda: self._save_bearer_token(token, request, *args, **kwargs)
            )
        except tokens.CodeAlreadyRedeemed:
            # RFC 6749 4.1.2: lost the race for the code. The transaction rolled back (the signed ID
            # token with it); the winner's tokens are committed and linked to the code: a replay.
            self._answer_code_replay(request.code, request)
            raise errors.InvalidGrantError(request=request) from None
        except RefreshTokenReused as reused:
            # RFC 9700 4.14.2: a rotated refresh token used again revokes its family (P8).
            self._answer_refresh_token_reuse(reused.refresh_token, request)
            raise errors.InvalidGrantError(request=request) from None

    def _save_bearer_token(self, token, request, *args, **kwargs):
        state = state_of(request)
        if request.grant_type == "authorization_code" and state.grant is not None:
            # RFC 6749 4.1.2: the code is consumed with the token insert; of concurrent requests
            # exactly one deletes it, the others write nothing (CodeAlreadyRedeemed).
            tokens.claim_grant(state.grant, request=request)
            state.code_claimed = True
        elif request.grant_type == "refresh_token":
            self._lock_refresh_token_for_rotation(request)
        elif state.exchange is not None:
            self._lock_subject_token(request, state.exchange.subject)
        # RFC 9068 / RFC 8707: a registered resource may want shorter-lived tokens.
        token["expires_in"] = self.access_token_lifetime(request, token["expires_in"])
        if request.grant_type == "refresh_token":
            # The rotated-out access token is replaced at its client's request: no revocation event.
            with revocation_events.replacing():
                result = super()._save_bearer_token(token, request, *args, **kwargs)
        else:
            result = super()._save_bearer_token(token, request, *args, **kwargs)
        if state.exchange is not None:
            # RFC 8693 4.1 / X7: the act chain and the link to the subject token, with the token.
            save_row(state.exchange.record(state.issued_access_token), request)
        # A branch that created no access token (DOT updates it in place when refresh tokens are not
        # rotated): the ID token the response carries is stored all the same, unlinked as DOT does.
        self._store_pending_id_token(request)
        if state.code_claimed:
            # P5: remember the redeemed code with what it issued, so that a replay revokes it.
            tokens.remember_redemption(state.grant, *self._issued_tokens(token, request), request=request)
        if request.grant_type in ("authorization_code", "refresh_token"):
            # R2 / OIDC Core 12.2: how the user authenticated stays with the sign-in: its refresh-token
            # family (every refresh finds it, with or without openid) and its latest ID token.
            refresh_token = state.issued_refresh_token
            login.keep_with_tokens(
                login.context_of(request),
                row_batch(request),
                id_token=state.stored_id_token,
                token_family=refresh_token.token_family if refresh_token is not None else None,
            )
        # Written with the tokens (no savepoint): a token is never issued without its audit event.
        self._audit_issued(token, request)
        return result

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        # RFC 8707 2.2 (R4): the refresh token keeps the grant's resources, so that it can obtain
        # access tokens for any of them; the access token got the narrowed set (resolve_audience).
        create = super()._create_refresh_token
        audience = state_of(request).audience
        if audience is None or audience.grant_resources is None:
            return create(request, refresh_token_code, access_token, previous_refresh_token)
        narrowed, request.resource = request.resource, list(audience.grant_resources)
        try:
            return create(request, refresh_token_code, access_token, previous_refresh_token)
        finally:
            request.resource = narrowed

    def _lock_refresh_token_for_rotation(self, request) -> None:
        # RFC 9700 4.14.2: a refresh token is used once. Two requests may both pass
        # validate_refresh_token; the row lock decides, and the later one finds it rotated.
        refresh_token = getattr(request, "refresh_token_instance", None)
        if refresh_token is None:
            return
        locked = get_refresh_token_model().objects.select_for_update().filter(pk=refresh_token.pk).first()
        if locked is None or locked.revoked is not None:
            raise RefreshTokenReused(locked or refresh_token)

    def _lock_subject_token(self, request, subject) -> None:
        # X7: the subject token is locked until the exchanged token is stored, so a revocation
        # either comes first (nothing is issued) or waits and then finds the exchanged token.
        if not type(subject).objects.select_for_update().filter(pk=subject.pk).exists():
            raise errors.InvalidGrantError(description="The subject token is not active.", request=request)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if valid:
            # P24: a deactivated user's refresh token mints nothing (the token stays, so that the
            # user, once reactivated, is not signed out everywhere by an administrator's mistake).
            return request.user is None or request.user.is_active
        stored = (
            get_refresh_token_model()
            .objects.filter(token_checksum=digest(refresh_token), revoked__isnull=False)
            .order_by("-revoked")
            .first()
        )
        if stored is not None:
            # RFC 9700 4.14.2: DOT revoked the refresh tokens of the family and their access tokens;
            # finish the job (access tokens minted from the family, their ID tokens) and record it.
            self._answer_refresh_token_reuse(stored, request)
        return False

    def _issued_tokens(self, token, request):
        """The access token this request created and its refresh-token family; no query when the
        storage kept them in the request's state (they may not be written yet)."""
        state = state_of(request)
        access_token = state.issued_access_token
        if access_token is None:
            access_token = get_access_token_model().objects.get(token_checksum=digest(token["access_token"]))
            return access_token, family_of_access_token(access_token)
        refresh_token = state.issued_refresh_token
        if refresh_token is not None and getattr(refresh_token, "access_token", None) is access_token:
            return access_token, refresh_token.token_family
        # A new access token without a refresh token of this request: no refresh token points at it.
        return access_token, None

    def _answer_code_replay(self, code: str, request) -> None:
        redemption = tokens.handle_replay(code)
        if redemption is not None:
            signals.announce(
                signals.code_replayed,
                sender=type(self),
                request=_audit_request(request),
                redemption=redemption,
                revoked_access_token_count=redemption.revoked_access_tokens,
            )

    def _answer_refresh_token_reuse(self, refresh_token, request) -> None:
        revoked = revoke_token_family(refresh_token.token_family)
        signals.announce(
            signals.refresh_token_reused,
            sender=type(self),
            request=_audit_request(request),
            refresh_token=refresh_token,
            revoked_access_token_count=revoked,
        )

    def _audit_issued(self, token, request) -> None:
        exchange = state_of(request).exchange
        if exchange is not None:
            self._audit_exchanged(token, request, exchange)
            return
        record(
            TOKEN_REFRESHED if request.grant_type == "refresh_token" else TOKEN_ISSUED,
            batch=row_batch(request),
            request=_audit_request(request),
            user=request.user if getattr(request.user, "pk", None) else None,
            application=request.client,
            grant_type=request.grant_type,
            scope=token.get("scope", ""),
            with_refresh=bool(token.get("refresh_token")),
        )

    def _audit_exchanged(self, token, request, exchange) -> None:
        # X8: who exchanged (the client), for whom (the user), the actor chain, from and to which
        # audience; written with the token like token.issued.
        record(
            TOKEN_EXCHANGED,
            batch=row_batch(request),
            request=_audit_request(request),
            user=request.user,
            application=request.client,
            grant_type=request.grant_type,
            scope=token.get("scope", ""),
            actors=" ".join(token_exchange.actors(exchange.act)),
            source_audience=exchange.source,
            target_audience=exchange.target.identifier,
            subject_client_id=getattr(exchange.subject.application, "client_id", ""),
        )

    # == Token exchange (RFC 8693; X1-X8) =============================================================

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        if grant_type != token_exchange.GRANT_TYPE:
            return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)
        # RFC 8693 5 / X2: only a confidential client the admin gave an exchange policy (else
        # unauthorized_client; a public client failed authentication already: invalid_client).
        if client.client_type != AbstractApplication.CLIENT_CONFIDENTIAL:
            return False
        state = state_of(request)
        state.exchange_policy = token_exchange.policy_of(client)
        return state.exchange_policy is not None

    def validate_token_exchange(self, request, targets: list[str]) -> None:
        """RFC 8693 2.1: whether the authenticated client may exchange this subject token for this
        target, and what the new token holds (``request.user``, ``scopes``, ``resource``, the act
        chain and the lifetime cap in the request's state). Called by
        :class:`provider_app.internal.token_exchange.TokenExchangeGrant` once the parameters are
        well-formed (X1) and the client authenticated with a policy (X2)."""
        policy = state_of(request).exchange_policy
        subject = token_exchange.find_subject_token(request.subject_token)
        # X3 / RFC 8693 2.2.2 invalid_grant: the subject token is active (RFC 7662 2.2: unexpired,
        # unrevoked: revoked tokens are deleted), issued to a user who is still active (P24) ...
        if subject is None or subject.is_expired() or subject.user is None or not subject.user.is_active:
            raise errors.InvalidGrantError(description="The subject token is not active.", request=request)
        remaining = int(subject.expires.timestamp() - time.time())
        if remaining < 1:
            raise errors.InvalidGrantError(description="The subject token is not active.", request=request)
        # ... and issued for the requesting client's own audience, one its policy lets it exchange.
        audiences = set(subject.resource or ())
        own = audiences & token_exchange.own_audiences(request.client)
        if not own:
            raise errors.InvalidGrantError(
                description="The subject token was not issued for this client's audience.", request=request
            )
        sources = own & token_exchange.allowed_sources(policy)
        if not sources:
            raise errors.InvalidGrantError(
                description="This client may not exchange tokens of this audience.", request=request
            )
        # RFC 8693 2.1 resource/audience: one target, which the policy names (4.4 may_act), else
        # invalid_target (RFC 8693 2.2.2). The policy is the authority: the target's
        # allowed_clients govern the other grants, not this one.
        if not targets:
            raise errors.InvalidRequestError(
                description="Name the target service with resource or audience.", request=request
            )
        if len(targets) > 1:
            raise _invalid_target(request, "Ask for one target per exchange.")
        target = token_exchange.allowed_target(policy, _checked_resources(request, targets)[0])
        if target is None:
            raise _invalid_target(request, "The target is unknown, or this client may not ask for it.")
        request.scopes = _exchanged_scopes(request, subject, target)
        request.user = subject.user
        request.resource = [target.identifier]
        # X5 / RFC 8693 4.1: sub stays the user; act names this client, over the subject's own act.
        previous = token_exchange.exchange_of(subject)
        act = {"sub": request.client.client_id}
        if previous is not None:
            if len(token_exchange.actors(previous.act)) >= token_exchange.MAX_ACTORS:
                raise errors.InvalidGrantError(
                    description="The chain of services acting for the user is too long.", request=request
                )
            act["act"] = previous.act
        # X4: no longer than the subject token; X7: the subject's family, inherited along a chain.
        family = token_exchange.family_of(subject, previous)
        state_of(request).exchange = token_exchange.Exchange(
            subject=subject,
            act=act,
            source=sorted(sources)[0],
            target=target,
            token_family=family,
            lifetime_cap=remaining,
            # R2 / RFC 9068 2.2.1: the user's authentication, as the subject token knew it.
            authentication=token_exchange.authentication_of(subject, previous, family),
        )

    # == Bearer tokens and revocation (RFC 6750; RFC 7009) ============================================

    def validate_bearer_token(self, token, scopes, request) -> bool:
        valid = super().validate_bearer_token(token, scopes, request)
        if valid and request.user is not None and not request.user.is_active:
            return False  # P24: UserInfo (and any oauthlib-protected view) refuses a deactivated user
        if valid:
            note_token_use(getattr(request, "access_token", None))  # connected apps: last used
        return valid

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs) -> None:
        # RFC 7009 2.1: DOT revokes only the caller's own tokens; say that a revocation was asked.
        # X7: what was exchanged from the revoked token (or from its refresh token's family) goes too.
        lookup = {"token_checksum": digest(token), "application_id": getattr(request.client, "pk", None)}
        access_tokens = get_access_token_model().objects.filter(**lookup)
        refresh_tokens = get_refresh_token_model().objects.filter(**lookup)
        access_token_ids = list(access_tokens.values_list("pk", flat=True))
        families = list(refresh_tokens.values_list("token_family", flat=True))
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if lookup["application_id"] is not None:
            revoke_exchanged_tokens(access_token_ids=access_token_ids, token_families=families)
        signals.announce(
            signals.access_revoked,
            sender=type(self),
            request=_audit_request(request),
            application=request.client,
            by="client",
            token_type_hint=token_type_hint or "",
        )

    # == OpenID Connect: the ID token (OIDC Core 2, 3.1.3.6, 10.1.1, 12.2) ============================

    def get_id_token_dictionary(self, token, token_handler, request) -> tuple[dict[str, Any], Any]:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        # OIDC Core 2 / RFC 8176: auth_time, amr and acr as recorded when the user authenticated
        # for this grant (P19); on a refresh, those of the original authentication (OIDC Core 12.2).
        context = login.context_of(request)
        if context is None:
            # No record of how the user authenticated (a token from before it was recorded): claim
            # nothing rather than DOT's last_login guess.
            claims.pop("auth_time", None)
        claims.update(login.id_token_claims(context))
        return claims, expiration_time

    def _id_token_stored(self, id_token, request) -> None:
        super()._id_token_stored(id_token, request)
        # OIDC BCL 2.5: the session's clients are remembered, for a logout token when it ends (L3).
        login.record_signed_in_client(login.context_of(request), request, row_batch(request))
        # OIDC Core 12.2: the context moves to this ID token (written with the response's tokens).
        state_of(request).stored_id_token = id_token

    def finalize_id_token(self, id_token, token, token_handler, request):
        if request.client.algorithm != AbstractApplication.RS256_ALGORITHM:
            return super().finalize_id_token(id_token, token, token_handler, request)
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:  # oauthlib bug #746, as DOT does
            id_token["nonce"] = request.nonce
        # OIDC Core 10.1.1: signed with the current key (rotated without downtime, R11), its kid in
        # the header; every published key stays in the JWKS.
        key = signing_keys.signing_key()
        header = {"typ": "JWT", "alg": signing_keys.ALGORITHM, "kid": key.thumbprint()}
        signed = jwt.JWT(header=json.dumps(header, default=str), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        with transaction.atomic(using=router.db_for_write(get_id_token_model())):
            stored = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = stored  # as DOT: Django REST framework reads it
        request.id_token = stored
        return signed.serialize()

    def _get_key_for_token(self, token):
        # OIDC RP-Initiated Logout 2 id_token_hint: it must name a client of ours (aud); its
        # signature is checked against every key this provider publishes, the retired ones included.
        unverified = jws.JWS()
        unverified.deserialize(token)
        claims = json.loads(unverified.objects["payload"].decode("utf-8"))
        if not isinstance(claims, dict) or "aud" not in claims:
            return None
        if self._get_client_by_audience(claims["aud"]) is None:
            return None
        return signing_keys.verification_keys()

    # == OpenID Connect: claims and UserInfo (OIDC Core 5.3, 5.4) =====================================

    def get_userinfo_claims(self, request):
        # OIDC Core 5.3: UserInfo returns claims about an end-user. A client_credentials token has
        # none (DOT then fails on ``request.user.pk``): RFC 6750 3.1 ``invalid_token``.
        if request.user is None:
            raise errors.InvalidTokenError(description="The access token was not issued to a user.")
        return super().get_userinfo_claims(request)

    def get_additional_claims(self, request) -> dict[str, Any]:
        # OIDC Core 5.4: released by scope through oidc_claim_scope (DOT filters them).
        return user_claims(request.user)

    @classmethod
    @cache
    def _get_additional_claims_is_request_agnostic(cls) -> bool:
        # DOT inspects the signature of get_additional_claims twice per ID token; a class's
        # signature does not change, so once per class.
        return super()._get_additional_claims_is_request_agnostic()

    def get_discovery_claims(self, request) -> list[str]:
        return list(dict.fromkeys([*SUPPORTED_CLAIMS, *login.SUPPORTED_CLAIMS]))


def user_claims(user: AbstractBaseUser) -> dict[str, Any]:
    """Standard claims for ``user`` (OIDC Core 5.1); the validator releases each only with its scope."""
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    claims: dict[str, Any] = {
        "preferred_username": user.get_username(),
        "name": full_name or user.get_username(),
        "given_name": getattr(user, "first_name", "") or None,
        "family_name": getattr(user, "last_name", "") or None,
        "email": getattr(user, "email", "") or None,
    }
    if claims["email"]:
        # Django does not verify addresses: say so, so that clients never link accounts by it.
        claims["email_verified"] = False
    return {name: value for name, value in claims.items() if value is not None}


#: The claims discovery lists (OIDC Discovery 3 ``claims_supported``), with login's auth claims.
SUPPORTED_CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "preferred_username",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
]


#: More resources than this in one request are refused (each is looked up).
MAX_RESOURCES = 10


def _invalid_target(request, description: str) -> errors.CustomOAuth2Error:
    return errors.CustomOAuth2Error(error="invalid_target", description=description, request=request)


def _checked_resources(request, identifiers) -> list[str]:
    """RFC 8707 2: at most :data:`MAX_RESOURCES` resource indicators, each an absolute URI."""
    identifiers = list(dict.fromkeys(identifiers))  # repeated resources count once
    if len(identifiers) > MAX_RESOURCES:
        raise _invalid_target(request, f"Ask for at most {MAX_RESOURCES} resources.")
    if any(not isinstance(r, str) or not r.isprintable() for r in identifiers):
        raise _invalid_target(request, "A resource indicator is an absolute URI.")  # NUL, control characters
    return identifiers


def _refreshed_resources(request) -> list[str] | None:
    """The resources of the refresh token being used (``None`` for other grants)."""
    if getattr(request, "grant_type", None) != "refresh_token":
        return None
    refresh_token = getattr(request, "refresh_token_instance", None)
    return list(getattr(refresh_token, "resource", None) or []) if refresh_token is not None else None


def _grant_resources(request, refreshed: list[str] | None) -> list[str] | None:
    """The resources of the grant behind this token request (the code's, or the refresh token's),
    which a new refresh token keeps; None for grants that issue no refresh token from a grant."""
    if refreshed is not None:
        return refreshed
    grant = state_of(request).grant
    if getattr(request, "grant_type", None) == "authorization_code" and grant is not None:
        return list(grant.resource or [])
    return None


def _exchanged_scopes(request, subject, target: ResourceServer) -> list[str]:
    """X4 / RFC 8693 2.1 scope: only narrows the subject token's; by default the subject's scopes the
    target understands. Else RFC 6749 5.2 invalid_scope."""
    subject_scopes = subject.scope.split()
    if not request.scope:
        scopes = [scope for scope in subject_scopes if scope in target.scope_set()]
        if not scopes:
            raise errors.InvalidScopeError(
                description="The subject token has no scope the target understands.", request=request
            )
        return scopes
    scopes = list(dict.fromkeys(request.scope.split()))
    if not set(scopes) <= set(subject_scopes):
        raise errors.InvalidScopeError(
            description="An exchange may only narrow the subject token's scopes.", request=request
        )
    if not set(scopes) <= target.scope_set():
        # Identity scopes too (openid, profile...): an exchanged token is for the target only, never
        # a way to mint UserInfo access for the acting service.
        raise errors.InvalidScopeError(description="The target does not understand a scope.", request=request)
    return scopes


def _audit_request(request) -> SimpleNamespace:
    """What the audit receivers read from a request (``META``), taken from an oauthlib request."""
    headers = getattr(request, "headers", None) or {}
    return SimpleNamespace(META={key: headers.get(key, "") for key in ("REMOTE_ADDR", "HTTP_USER_AGENT")})
