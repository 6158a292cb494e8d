"""The security half of the validator: codes hashed and single-use, replay and reuse answered.

:class:`CodeAndTokenSecurityMixin` is mixed into
:class:`provider_app.oauth2_validator.ProviderOAuth2Validator` before DOT's ``OAuth2Validator``.
It overrides every DOT method that reads ``Grant.code`` (DOT looks codes up by their raw value,
which is no longer stored, P16), claims a code once (P5), revokes what a replayed code issued (P5),
turns a concurrent or repeated use of a rotated refresh token into ``invalid_grant`` plus the
revocation of its family (P8), and writes audit events for all of it."""

from __future__ import annotations

import json
from types import SimpleNamespace

from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauthlib.oauth2.rfc6749 import errors

from provider_app import audit
from provider_app.internal import resources
from provider_app.internal.codes import (
    CLAIMED,
    VALIDATED_GRANT,
    CodeAlreadyRedeemed,
    claim_grant,
    find_grant,
    find_grant_for_request,
    handle_replay,
    remember_redemption,
)
from provider_app.internal.token_storage import ISSUED_ACCESS_TOKEN, ISSUED_REFRESH_TOKEN, row_batch
from provider_app.internal.tokens import digest, family_of_access_token, note_token_use, revoke_token_family


class RefreshTokenReused(Exception):
    """A refresh token was already rotated (or revoked) when its rotation got the lock."""

    def __init__(self, refresh_token) -> None:
        super().__init__("refresh token reused")
        self.refresh_token = refresh_token


def audit_request(request) -> SimpleNamespace:
    """What :func:`provider_app.audit.record` reads from a request, taken from an oauthlib request."""
    headers = getattr(request, "headers", None) or {}
    return SimpleNamespace(META={key: headers.get(key, "") for key in ("REMOTE_ADDR", "HTTP_USER_AGENT")})


class CodeAndTokenSecurityMixin:
    """Validator methods around grants, bearer tokens, refresh tokens and revocation."""

    # -- authorization codes: stored as SHA-256 only (P16) -------------------------------------

    def _create_authorization_code(self, request, code, expires=None):
        return super()._create_authorization_code(request, {**code, "code": digest(code["code"])}, expires)

    def _grant(self, code: str, request, client=None):
        validated = getattr(request, VALIDATED_GRANT, None)
        if validated is not None:
            return validated
        return find_grant(code, client if client is not None else getattr(request, "client", None))

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        grant = find_grant_for_request(code, request, client)
        if grant is None:
            # RFC 6749 4.1.2: a code used more than once revokes what it issued (P5).
            self._answer_code_replay(code, request)
            return False
        # Later checks (PKCE, redirect_uri, nonce) read this grant, never the table again: a
        # concurrent redemption may delete the row meanwhile (DOT then raised Grant.DoesNotExist).
        setattr(request, VALIDATED_GRANT, grant)
        if grant.is_expired():
            return False
        if not grant.user.is_active:
            return False  # P24: a deactivated user's pending code is worth nothing
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def _answer_code_replay(self, code: str, request) -> None:
        redemption = handle_replay(code)
        if redemption is None:
            return
        audit.record(
            audit.CODE_REPLAYED,
            request=audit_request(request),
            user=redemption.user,
            application=redemption.application,
            redeemed_code_id=redemption.pk,
            revoked_access_token_count=redemption.revoked_access_tokens,
        )

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs) -> bool:
        request = kwargs.get("request") or (args[0] if args else None)
        grant = self._grant(code, request, client)
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    def get_code_challenge(self, code, request):
        grant = self._grant(code, request)
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code, request):
        grant = self._grant(code, request)
        return (grant.code_challenge_method or None) if grant is not None else None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = getattr(request, VALIDATED_GRANT, None) or find_grant_for_request(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = getattr(request, VALIDATED_GRANT, None) or find_grant_for_request(code, request)
        return (grant.nonce or None) if grant is not None else None

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        if getattr(request, CLAIMED, False):
            return  # deleted with the token insert, see _save_bearer_token
        grant = find_grant(code, request.client)
        if grant is None or not type(grant).objects.filter(pk=grant.pk).delete()[0]:
            raise errors.InvalidGrantError(request=request)

    def _check_and_set_request_resource(self, request) -> None:
        # RFC 8707: DOT narrows the resource against the grant it finds by the raw code; the grant
        # is stored hashed and consumed meanwhile, so run DOT's normalisation and narrow here.
        grant = getattr(request, VALIDATED_GRANT, None)
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
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description="The requested resource was not part of the authorization grant.",
                        request=request,
                    )
        elif grant_resource:
            self._validate_resource_uris(request, grant_resource)
            request.resource = grant_resource

    # -- bearer tokens: saving, rotation, reuse (P5, P8) ------------------------------------------

    def save_bearer_token(self, token, request, *args, **kwargs):
        try:
            result = super().save_bearer_token(token, request, *args, **kwargs)
        except CodeAlreadyRedeemed:
            # Lost the race for the code: the transaction rolled back (with the ID token, see
            # provider_app.internal.token_storage); the winner's tokens are committed and linked to the
            # code by now, so this is a replay like any other.
            self._answer_code_replay(request.code, request)
            raise errors.InvalidGrantError(request=request) from None
        except RefreshTokenReused as reused:
            self._answer_refresh_token_reuse(reused.refresh_token, request)
            raise errors.InvalidGrantError(request=request) from None
        return result

    def _save_bearer_token(self, token, request, *args, **kwargs):
        grant = getattr(request, VALIDATED_GRANT, None)
        if request.grant_type == "authorization_code" and grant is not None:
            claim_grant(grant, request=request)
            setattr(request, CLAIMED, True)
        elif request.grant_type == "refresh_token":
            self._lock_refresh_token_for_rotation(request)
        # A registered resource may want shorter-lived tokens (provider_app.internal.resources).
        token["expires_in"] = resources.lifetime(request, token["expires_in"])
        result = super()._save_bearer_token(token, request, *args, **kwargs)
        if getattr(request, CLAIMED, False):
            remember_redemption(grant, *self._issued_tokens(token, request), request=request)
        # Written with the tokens (the token response's row batch, no savepoint): a token is never
        # issued without its event, and one commit stores both (docs/performance.md).
        self._audit_issued(token, request)
        return result

    def _issued_tokens(self, token, request):
        """The access token this request created and its refresh-token family; no query when
        :mod:`provider_app.internal.token_storage` kept them on the request (they may not be written yet)."""
        access_token = getattr(request, ISSUED_ACCESS_TOKEN, None)
        if access_token is None:
            access_token = get_access_token_model().objects.get(token_checksum=digest(token["access_token"]))
            return access_token, family_of_access_token(access_token)
        refresh_token = getattr(request, ISSUED_REFRESH_TOKEN, None)
        if refresh_token is not None and getattr(refresh_token, "access_token", None) is access_token:
            return access_token, refresh_token.token_family
        # A new access token without a refresh token of this request: no refresh token points at it.
        return access_token, None

    def _lock_refresh_token_for_rotation(self, request) -> None:
        # RFC 9700 4.14.2: a refresh token is used once. Two requests may both pass
        # validate_refresh_token; the row lock decides, and the later one finds it rotated.
        refresh_token = getattr(request, "refresh_token_instance", None)
        if refresh_token is None:
            return
        locked = get_refresh_token_model().objects.select_for_update().filter(pk=refresh_token.pk).first()
        if locked is None or locked.revoked is not None:
            raise RefreshTokenReused(locked or refresh_token)

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
            # DOT revoked the refresh tokens of the family and their access tokens; finish the job
            # (access tokens minted from the family, their ID tokens) and record it.
            self._answer_refresh_token_reuse(stored, request)
        return False

    def _answer_refresh_token_reuse(self, refresh_token, request) -> None:
        revoked = revoke_token_family(refresh_token.token_family)
        audit.record(
            audit.REFRESH_TOKEN_REUSED,
            request=audit_request(request),
            user=refresh_token.user,
            application=refresh_token.application,
            refresh_token_id=refresh_token.pk,
            token_family_id=str(refresh_token.token_family),
            revoked_access_token_count=revoked,
        )

    def _audit_issued(self, token, request) -> None:
        event = audit.TOKEN_REFRESHED if request.grant_type == "refresh_token" else audit.TOKEN_ISSUED
        audit.record(
            event,
            batch=row_batch(request),
            request=audit_request(request),
            user=request.user if getattr(request.user, "pk", None) else None,
            application=request.client,
            grant_type=request.grant_type,
            scope=token.get("scope", ""),
            with_refresh=bool(token.get("refresh_token")),
        )

    def validate_bearer_token(self, token, scopes, request) -> bool:
        valid = super().validate_bearer_token(token, scopes, request)
        if valid and request.user is not None and not request.user.is_active:
            return False  # P24: UserInfo (and any oauthlib-protected view) refuses a deactivated user
        if valid:
            note_token_use(getattr(request, "access_token", None))  # connected apps: last used
        return valid

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs) -> None:
        # RFC 7009: DOT revokes only the caller's own tokens; record that a revocation was asked.
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        audit.record(
            audit.TOKEN_REVOKED,
            request=audit_request(request),
            application=request.client,
            hint=token_type_hint or "",
        )
