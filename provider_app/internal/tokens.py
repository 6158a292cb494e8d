"""Tokens and the codes they are issued from: values, digest, families, redemption, use, revocation.

Access and refresh token values: 256 random bits; an access token for a resource server that wants
JWTs is an RFC 9068 JWT (DOT's ``ACCESS_TOKEN_GENERATOR`` is :func:`generate_access_token`).

oauthlib's default draws 30 characters from a 62-letter alphabet one ``SystemRandom.choice`` at a
time (about 178 bits, 30 calls into the random source per token). One ``secrets.token_urlsafe``
call gives 256 bits in 43 URL-safe characters, which is what RFC 9700 asks of a bearer token
(unguessable, RFC 6750 5.2) with margin, and costs one read of the operating system's random source.

Token families: everything issued from one authorization code, revoked together (P5, P8).

A token issued by RFC 8693 token exchange goes with its subject token (X7): it is linked to the
subject's access token and inherits the subject's family (:class:`~provider_app.models.ExchangedToken`),
so revoking either (and, along a chain A → B → C, what was exchanged from it) revokes it.

DOT gives every refresh token issued from a code a ``token_family`` UUID that rotation keeps
(RFC 9700 4.14.2). Revoking a family here revokes its refresh tokens, deletes every access token
bound to one of them or minted from one of them, and the ID tokens those access tokens carried.

Authorization codes at rest and at redemption (P5, P16).

* At rest only SHA-256 of a code is stored (DOT keeps ``Grant.code`` in plaintext): every Grant
  lookup of :class:`provider_app.oauth2_validator.ProviderOAuth2Validator` goes through
  :func:`digest`.
* Redemption deletes the grant row in the same transaction that inserts the tokens, after every
  check passed (a request that fails a check, say a wrong ``redirect_uri``, does not burn the
  code). Of concurrent requests exactly one deletes the row; the others delete nothing, roll back
  and answer ``invalid_grant`` (RFC 6749 4.1.2, OAuth 2.1 4.1.3).
* The hash of a redeemed code is remembered (:class:`~provider_app.models.RedeemedCode`)
  in that same transaction with the tokens issued from it, so any later presentation of the code,
  concurrent or not, finds them and revokes them (RFC 6749 4.1.2, RFC 9700 4.2.4).

Remember when a client last used its access to a user's account, cheaply.

:func:`note_token_use` is called where an access token is used: bearer validation for the API and
UserInfo (signing in and refreshing show in the tokens' own timestamps). A shared-cache key makes it
write :class:`~provider_app.models.ClientUsage` at most once per :data:`RESOLUTION` per token;
without a working cache it writes every time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from jwcrypto import jwt
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings

from provider_app.app_settings import app_settings
from provider_app.internal import batch, signing_keys
from provider_app.internal.storage import delete_by_pk, grant_by_code, row_batch, save_row, state_of
from provider_app.models import ClientUsage, ExchangedToken, RedeemedCode, ResourceServer

# --------------------------------------------------------------------------------------------------
# Token values: 256 random bits (opaque access tokens, refresh tokens).
# --------------------------------------------------------------------------------------------------


def digest(value: str) -> str:
    """SHA-256 (hex) of a token, an authorization code or a client_id: what is stored, looked up and
    used as a cache key, never the value itself (P16). DOT's ``token_checksum`` is the same digest."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


#: Bytes of randomness per token (256 bits).
TOKEN_BYTES = 32


def generate_token(request=None) -> str:
    """A new access or refresh token value; ``request`` is oauthlib's, unused."""
    return secrets.token_urlsafe(TOKEN_BYTES)


# --------------------------------------------------------------------------------------------------
# Access tokens: opaque, or an RFC 9068 JWT for a resource server that wants one (DOT's
# ``ACCESS_TOKEN_GENERATOR``). The audience and the claims are the validator's decisions.
# --------------------------------------------------------------------------------------------------


class Audience:
    """The registered resource servers one token is for (none: the default audience).

    ``grant_resources``: the resources of the grant behind the token request (the code's, or the
    refresh token's), which the new refresh token keeps (RFC 8707 2.2); None when no refresh token
    comes from this request's grant (client_credentials, token exchange).
    """

    def __init__(self, servers: list[ResourceServer], grant_resources: list[str] | None = None) -> None:
        self.servers = servers
        self.grant_resources = grant_resources

    @property
    def resource(self) -> list[str]:
        """What the access token stores as its ``resource`` ([]: the default audience, unrestricted)."""
        return [server.identifier for server in self.servers]

    @property
    def jwt_server(self) -> ResourceServer | None:
        """The one resource server the token is a JWT for, if it wants JWTs."""
        if len(self.servers) == 1 and self.servers[0].token_format == ResourceServer.JWT:
            return self.servers[0]
        return None

    def lifetime(self, default: int) -> int:
        """The servers' own lifetime (the shortest, for a token for several), else ``default``."""
        lifetimes = [s.access_token_lifetime for s in self.servers if s.access_token_lifetime]
        return min(lifetimes) if lifetimes else default


def default_audiences(request) -> set[str]:
    """The names of the provider's own audience (RFC 9068 3): the issuer of this request, and
    ``PROVIDER_APP_DEFAULT_AUDIENCE`` when set. ``resource`` naming one of them asks for the default
    audience: allowed for every client, no registry entry, an opaque token with no resource
    restriction (UserInfo and the provider's API accept it). ``request``: Django's or oauthlib's."""
    names = {oauth2_settings.oidc_issuer(request).rstrip("/")}
    if app_settings.DEFAULT_AUDIENCE:
        names.add(app_settings.DEFAULT_AUDIENCE.rstrip("/"))
    return names


def is_default_audience(identifier: str, names: set[str]) -> bool:
    """``identifier`` names the provider's own audience (with or without a trailing slash)."""
    return isinstance(identifier, str) and identifier.rstrip("/") in names


def generate_access_token(request) -> str:
    """DOT's ``ACCESS_TOKEN_GENERATOR``: a JWT for a resource that wants one, else 256 random bits.

    The RFC 8707 rules and the registry's (the audience), and the RFC 9068 claims, are the
    validator's (``resolve_audience``, ``jwt_access_token_claims``); this signs what it decided."""
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    audience = validator.resolve_audience(request)
    state_of(request).audience = audience
    server = audience.jwt_server
    if server is None:
        return generate_token(request)
    claims = validator.jwt_access_token_claims(request, server)
    state_of(request).jwt_id = (claims["iss"], claims["jti"])  # stored with the row (E1)
    return _signed_jwt_access_token(claims)


@sensitive_variables("key")
def _signed_jwt_access_token(claims: dict) -> str:
    """RFC 9068 2.1: ``typ: at+jwt`` (never confusable with an ID token), RS256 with the ID tokens'
    key (:mod:`provider_app.internal.signing_keys`, ``kid`` its thumbprint, published in the JWKS)."""
    key = signing_keys.signing_key()
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}
    token = jwt.JWT(header=json.dumps(header), claims=json.dumps(claims))
    token.make_signed_token(key)
    return token.serialize()


# --------------------------------------------------------------------------------------------------
# Token families: everything issued from one authorization code, revoked together (P5, P8).
# --------------------------------------------------------------------------------------------------


def revoke_token_family(token_family: uuid.UUID | None, *, access_token_ids: Iterable[int] = ()) -> int:
    """Revoke a whole family (and the listed access tokens), and what was exchanged from them (X7);
    returns how many access tokens died.

    Rows are deleted first, then the exchanges from them are looked up again, until nothing new
    turns up: an exchange being stored holds its subject's row lock until it commits, so the
    deletion of that subject waits for it, and the next look sees its token. (No lock is taken
    ahead of DOT's: the order stays refresh tokens, then access tokens, as in DOT's own revocation,
    so two revocations of one family never deadlock.)"""
    AccessToken = get_access_token_model()
    RefreshToken = get_refresh_token_model()
    access_token_ids = [pk for pk in access_token_ids if pk is not None]
    if not token_family and not access_token_ids:
        return 0
    families = [token_family] if token_family else []
    with transaction.atomic(using=router.db_for_write(AccessToken)), batch.revocation():
        doomed = Q(pk__in=access_token_ids)
        if token_family:
            family = RefreshToken.objects.filter(token_family=token_family)
            doomed |= Q(pk__in=family.values("access_token_id")) | Q(
                source_refresh_token_id__in=family.values("pk")
            )
        pending = set(AccessToken.objects.filter(doomed).values_list("pk", flat=True))
        pending |= exchanged_from(pending, families)
        id_token_ids = _id_tokens_of(pending)  # read before DOT's revocation deletes access tokens
        if token_family:
            # DOT's set-based revocation of the refresh tokens (and the access tokens they hold).
            RefreshToken.revoke_family(token_family)
        revoked: set[int] = set()
        while pending:
            _delete_access_tokens(pending, id_token_ids | _id_tokens_of(pending))
            revoked |= pending
            pending = exchanged_from(pending, families) - revoked
            id_token_ids = set()
    return len(revoked)


def _id_tokens_of(access_token_ids: set[int]) -> set[int]:
    rows = (
        get_access_token_model().objects.filter(pk__in=access_token_ids).values_list("id_token_id", flat=True)
    )
    return {pk for pk in rows if pk}


def _delete_access_tokens(access_token_ids: set[int], id_token_ids: set[int]) -> None:
    """Delete these access tokens and ID tokens, and revoke the access tokens' refresh tokens."""
    for refresh_token in get_refresh_token_model().objects.filter(
        access_token_id__in=access_token_ids, revoked__isnull=True
    ):
        refresh_token.revoke()
    get_access_token_model().objects.filter(pk__in=access_token_ids).delete()
    get_id_token_model().objects.filter(pk__in=id_token_ids).delete()


def exchanged_from(access_token_ids: Iterable[int], token_families: Iterable[uuid.UUID] = ()) -> set[int]:
    """The access tokens exchanged (RFC 8693) from these tokens or families, along whole chains."""
    found: set[int] = set()
    subjects = {pk for pk in access_token_ids if pk is not None}
    families = {family for family in token_families if family}
    if not subjects and not families:
        return found
    condition = Q(subject_token_id__in=subjects) | Q(token_family__in=families)
    while True:
        new = set(ExchangedToken.objects.filter(condition).values_list("access_token_id", flat=True)) - found
        if not new:
            return found
        found |= new
        condition = Q(subject_token_id__in=new)


def revoke_exchanged_tokens(*, access_token_ids: Iterable[int] = (), token_families: Iterable = ()) -> int:
    """Revoke what was exchanged from these access tokens or families (X7); returns how many. The
    subjects themselves stay: to revoke them too, use :func:`revoke_token_family`, which also finds
    an exchange that was being stored meanwhile."""
    doomed = exchanged_from(access_token_ids, token_families)
    if not doomed:
        return 0
    return revoke_token_family(None, access_token_ids=doomed)


def revoke_access_tokens(access_tokens) -> int:
    """Revoke these access tokens (a queryset), their refresh tokens and what was exchanged from
    them (X7): the admin's revocations go through here; returns how many access tokens died."""
    return revoke_token_family(None, access_token_ids=list(access_tokens.values_list("pk", flat=True)))


def revoke_refresh_tokens(refresh_tokens) -> int:
    """Revoke these refresh tokens (a queryset) with their families (P8): each one's grant ends,
    with every access token minted from it and what was exchanged from those (X7)."""
    count = 0
    with batch.revocation():
        for refresh_token in refresh_tokens.filter(revoked__isnull=True):
            if refresh_token.token_family:
                count += revoke_token_family(refresh_token.token_family)
            else:
                count += revoke_token_family(None, access_token_ids=[refresh_token.access_token_id])
                refresh_token.revoke()
    return count


def application_deleting(sender, instance, **kwargs) -> None:
    """``pre_delete`` of the client model: its tokens go with it (cascade), and so do the tokens
    exchanged from them (X7), which belong to other clients and would otherwise outlive them."""
    access_token_ids = (
        get_access_token_model().objects.filter(application=instance).values_list("pk", flat=True)
    )
    families = (
        get_refresh_token_model().objects.filter(application=instance).values_list("token_family", flat=True)
    )
    revoke_exchanged_tokens(access_token_ids=list(access_token_ids), token_families=set(families))


def family_of_access_token(access_token) -> uuid.UUID | None:
    """The family of the refresh token issued with ``access_token``, if any."""
    refresh_token = get_refresh_token_model().objects.filter(access_token=access_token).first()
    return refresh_token.token_family if refresh_token is not None else None


def revoke_client_tokens(user, application) -> int:
    """Revoke every refresh and access token, ID token and pending code that ``application`` holds
    for ``user``, and what was exchanged from them (X7); returns how many access tokens the client
    held. Other clients keep theirs."""
    AccessToken = get_access_token_model()
    RefreshToken = get_refresh_token_model()
    with transaction.atomic(using=router.db_for_write(AccessToken)), batch.revocation():
        mine = AccessToken.objects.filter(user=user, application=application)
        count = mine.count()
        refresh_tokens = RefreshToken.objects.filter(user=user, application=application)
        for family in {f for f in refresh_tokens.values_list("token_family", flat=True) if f}:
            revoke_token_family(family)
        for refresh_token in refresh_tokens.filter(revoked__isnull=True):
            refresh_token.revoke()
        revoke_token_family(None, access_token_ids=list(mine.values_list("pk", flat=True)))
        get_id_token_model().objects.filter(user=user, application=application).delete()
        get_grant_model().objects.filter(user=user, application=application).delete()
    return count


# --------------------------------------------------------------------------------------------------
# Authorization codes at rest and at redemption (P5, P16).
# --------------------------------------------------------------------------------------------------


class CodeAlreadyRedeemed(Exception):
    """Another request consumed the code between its validation and this request's token insert."""


def retention() -> timedelta:
    """How long a redeemed code is remembered for replay detection."""
    return timedelta(seconds=app_settings.REDEEMED_CODE_RETENTION_SECONDS)


def find_grant(code: str, client=None):
    """The stored grant for a raw code (and client, when given), or None.

    One statement loads the grant, its user and the authentication context stored for the code
    (:func:`provider_app.internal.storage.grant_by_code`).
    """
    grant = grant_by_code(digest(code))
    if grant is None or (client is not None and grant.application_id != client.pk):
        return None
    return grant


def find_grant_for_request(code: str, request, client=None):
    """:func:`find_grant`, read once per token request.

    oauthlib asks for a code's scopes (to choose between OAuth and OpenID Connect) before it
    validates the code; the grant found then, by code alone, is kept on the request and reused when
    it belongs to ``client``.
    """
    state = state_of(request)
    found = state.grant_by_code
    if found is None or found[0] != code:
        found = state.grant_by_code = (code, find_grant(code))
    grant = found[1]
    if grant is not None and client is not None and grant.application_id != client.pk:
        return None
    return grant


def claim_grant(grant, *, request=None) -> None:
    """Consume ``grant`` in the transaction that saves its tokens (one ``DELETE``).

    Of concurrent requests exactly one deletes the row; on PostgreSQL the others wait for its
    commit and delete nothing, on SQLite the database lock serialises them the same way.
    Raises :class:`CodeAlreadyRedeemed` for them, and nothing of theirs is written. With the token
    response's row batch (``request``), the deletion is the batch's claim, made when the tokens are
    written and deciding whether they are (:meth:`provider_app.internal.storage.RowBatch.claim`).
    """
    batch = row_batch(request)
    if batch is not None:
        batch.claim(get_grant_model(), grant.pk, otherwise=CodeAlreadyRedeemed)
    elif not delete_by_pk(get_grant_model(), grant.pk):
        raise CodeAlreadyRedeemed


def remember_redemption(grant, access_token, token_family, *, request=None) -> RedeemedCode:
    """Record the redeemed code's hash with what it issued (same transaction as the tokens; added
    to the token response's row batch when ``request`` has one)."""
    redemption = RedeemedCode(
        code_hash=grant.code,
        application_id=grant.application_id,
        user_id=grant.user_id,
        expires=timezone.now() + retention(),
        token_family=token_family,
    )
    return save_row(redemption, request, access_token_id=access_token)


def handle_replay(code: str) -> RedeemedCode | None:
    """A redeemed code came back: mark it replayed and revoke everything issued from it."""
    with transaction.atomic(using=router.db_for_write(RedeemedCode)):
        redemption = RedeemedCode.objects.select_for_update().filter(code_hash=digest(code)).first()
        if redemption is None:
            return None
        if redemption.replayed is None:
            redemption.replayed = timezone.now()
            redemption.save(update_fields=["replayed"])
        redemption.revoked_access_tokens = revoke_token_family(
            redemption.token_family, access_token_ids=[redemption.access_token_id]
        )
    return redemption


def clear_expired_redemptions() -> int:
    """Forget redeemed codes past their retention period; returns how many were deleted."""
    deleted, _ = RedeemedCode.objects.filter(expires__lte=timezone.now()).delete()
    return deleted


# --------------------------------------------------------------------------------------------------
# Remember when a client last used its access to a user's account, cheaply.
# --------------------------------------------------------------------------------------------------

logger = logging.getLogger(__name__)

#: "Last used" is exact to this much.
RESOLUTION = timedelta(minutes=5)
RESOLUTION_SECONDS = RESOLUTION.total_seconds()
_recently_noted: dict[str, float] = {}


def note_token_use(access_token) -> None:
    """Record that the client of ``access_token`` used it for its user now (never raises).

    The gate is keyed by the token's checksum, so each token writes at most once per
    :data:`RESOLUTION`; client-credentials tokens (no user) are ignored.
    """
    if access_token is None or not access_token.user_id or not access_token.application_id:
        return
    key = f"provider_app:token-used:{access_token.token_checksum}"
    # This process recorded the token less than RESOLUTION ago: skip even the shared cache
    # (a round trip on every API request otherwise; see docs/performance.md).
    now = time.monotonic()
    if now - _recently_noted.get(key, -RESOLUTION_SECONDS) < RESOLUTION_SECONDS:
        return
    if len(_recently_noted) > 10_000:
        _recently_noted.clear()
    _recently_noted[key] = now
    try:
        if not cache.add(key, 1, timeout=int(RESOLUTION.total_seconds())):
            return  # recorded less than RESOLUTION ago
    except Exception:  # noqa: BLE001  (a cache outage must not break API calls)
        logger.warning("cache unavailable for client usage; writing to the database")
    try:
        with transaction.atomic():
            ClientUsage.objects.update_or_create(
                user_id=access_token.user_id,
                application_id=access_token.application_id,
                defaults={"last_used": timezone.now()},
            )
    except IntegrityError:
        pass  # a concurrent request recorded it
    except DatabaseError:
        logger.exception("could not record client usage")
