"""provider_app's own tables, beside DOT's (two-factor's are in :mod:`provider_app.two_factor.models`).

provider_app's own tables, beside DOT's: remembered consents and per-client policy.

The audit log table: one row per security event (who, what, when, from where), never a secret.

Rows are written only through :func:`provider_app.audit.record`, which scrubs the details.

The record of redeemed authorization codes, kept to detect and answer code replay (P5).

RFC 6749 4.1.2: "If an authorization code is used more than once, the authorization server MUST
deny the request and SHOULD revoke (when possible) all tokens previously issued based on that
authorization code." DOT deletes a code once used and forgets it; this table remembers the hash of
every redeemed code with what was issued from it, for
``PROVIDER_APP_REDEEMED_CODE_RETENTION_SECONDS`` after redemption.

When a client last used its access to a user's account (the connected-apps page, "last used").

Cache invalidations that could not reach the shared cache yet (P23, provider_app.internal.cache_outbox).

Registered resource servers (RFC 8707 resource indicators, RFC 9068 token format per audience).

The provider's signing keys, rotated without downtime (R11, provider_app.internal.signing_keys).

Browsers where an account signed in: their failures are counted apart (P20, internal.known_devices).

How the user authenticated for each authorization (provider_app.internal.login).

Which clients each provider session signed in to (OIDC Back-Channel Logout, L1, L3).

Deliveries to clients and services, written with the change and sent by a worker (L7, L8, E4-E6).
Token exchange (RFC 8693): which client may exchange which tokens, and what each exchange issued.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

# --------------------------------------------------------------------------------------------------
# provider_app's own tables, beside DOT's: remembered consents and per-client policy.
# --------------------------------------------------------------------------------------------------


def normalise_scopes(scopes: str | list[str]) -> str:
    """A scope set as one canonical string: unique, sorted, space-separated (RFC 6749 3.3)."""
    if isinstance(scopes, str):
        scopes = scopes.split()
    return " ".join(sorted(set(scopes)))


def _push_uri_field(help_text: str) -> models.CharField:
    """Where the provider posts to a client or a service (a logout token, a security event): empty,
    or an https URL (http only on loopback), checked where it is registered (admin, command)."""
    return models.CharField(max_length=255, blank=True, default="", help_text=help_text)


class Consent(models.Model):
    """A user's approval of a client for a set of scopes, remembered so the page is not shown again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_consents"
    )
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    scope = models.TextField(help_text="Space-separated, sorted scopes the user approved.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application"], name="provider_app_one_consent_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.application}: {self.scope}"

    def covers(self, scopes: list[str]) -> bool:
        return set(scopes) <= set(self.scope.split())


class ClientPolicy(models.Model):
    """Rules provider_app applies to one client on top of DOT's application fields."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="policy"
    )
    is_resource_server = models.BooleanField(
        default=False,
        help_text="May introspect tokens issued to other clients for its audiences (RFC 7662 4).",
    )
    resource_identifiers = models.TextField(
        blank=True,
        default="",
        help_text=(
            "The audiences this resource server answers for, one absolute URI per line (RFC 8707 "
            "resource indicators). It learns about other clients' tokens only if their audience is "
            "one of these."
        ),
    )
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Users must pass a second factor (enrolling one if needed) to authorize this client.",
    )
    backchannel_logout_uri = _push_uri_field(
        "OIDC Back-Channel Logout: where the provider posts a logout token when a session that "
        "signed in to this client ends (https; http only on loopback)."
    )
    backchannel_logout_session_required = models.BooleanField(
        default=False,
        help_text="The client needs the sid claim in logout tokens (OIDC Back-Channel Logout 2.2).",
    )

    class Meta:
        verbose_name_plural = "client policies"

    def __str__(self) -> str:
        return f"policy of {self.application}"

    def audiences(self) -> set[str]:
        """The resource identifiers of this resource server (empty unless it is one)."""
        return set(self.resource_identifiers.split()) if self.is_resource_server else set()


# --------------------------------------------------------------------------------------------------
# The audit log table: one row per security event (who, what, when, from where), never a secret.
# --------------------------------------------------------------------------------------------------


def _optional_link(to: str, help_text: str = "", **options) -> models.ForeignKey:
    """A link that may be empty and becomes NULL when its target is deleted (no reverse accessor)."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text=help_text, **options
    )


def _outlived_foreign_key(to: str) -> models.ForeignKey:
    """A link that the row outlives: NULL once the target is deleted, no database constraint."""
    return _optional_link(to, db_constraint=False)


class AuditEvent(models.Model):
    """A security event: a login, a consent, a token issued or revoked, a replay detected, ...

    ``username`` and ``client_id`` are copies taken when the event happened, so the row still says
    who and which client after the user or the client is deleted (the foreign keys become NULL).
    """

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    event = models.CharField(max_length=64, db_index=True)
    user = _outlived_foreign_key(settings.AUTH_USER_MODEL)
    # No index on username and client_id: the admin searches them with icontains, which a b-tree
    # index cannot serve, and every index costs each insert (one per token response).
    username = models.CharField(max_length=150, blank=True)
    application = _outlived_foreign_key(oauth2_settings.APPLICATION_MODEL)
    client_id = models.CharField(max_length=100, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["event", "-created"], name="provider_app_audit_evt_idx")]

    def __str__(self) -> str:
        who = self.username or "anonymous"
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.event} {who}"


# --------------------------------------------------------------------------------------------------
# The record of redeemed authorization codes, kept to detect and answer code replay (P5).
# --------------------------------------------------------------------------------------------------


class RedeemedCode(models.Model):
    """One redeemed authorization code: its SHA-256 (never the code), and the tokens issued from it.

    ``token_family`` is the family of the refresh token issued with the code (every rotation keeps
    it, RFC 9700 4.14.2), so revoking it reaches every token descended from the code.
    """

    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redeemed = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True, help_text="Forgotten after this (retention period).")
    access_token_id = models.BigIntegerField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True)
    replayed = models.DateTimeField(null=True, blank=True, help_text="First replay seen, if any.")

    def __str__(self) -> str:
        return f"redeemed code #{self.pk}"


# --------------------------------------------------------------------------------------------------
# When a client last used its access to a user's account (the connected-apps page, "last used").
# --------------------------------------------------------------------------------------------------


class ClientUsage(models.Model):
    """The last time ``application`` used an access token of ``user`` (API, UserInfo).

    Written at most once per ``provider_app.internal.tokens.RESOLUTION`` per token, so that bearer
    validation stays free of database writes on almost every request.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    last_used = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="provider_app_one_usage_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.application} used by {self.user} at {self.last_used:%Y-%m-%d %H:%M}"


# --------------------------------------------------------------------------------------------------
# Cache invalidations that could not reach the shared cache yet (P23, provider_app.internal.cache_outbox).
# --------------------------------------------------------------------------------------------------


class PendingCacheInvalidation(models.Model):
    """Keys whose deletion from the shared cache failed; no process serves from the caches meanwhile.

    Written when a change (a revocation, a saved user or client) committed but its invalidation did
    not reach Redis; deleted once a later attempt succeeded. Holds cache key names (checksums of
    tokens and client ids), never a token.
    """

    names = models.TextField(help_text="Space-separated cache key names to delete.")
    message = models.TextField(help_text="What to publish to every process's local copies.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "pending cache invalidation"

    def __str__(self) -> str:
        return f"{len(self.names.split())} cache keys pending since {self.created:%Y-%m-%d %H:%M:%S}"


# --------------------------------------------------------------------------------------------------
# Registered resource servers (RFC 8707 resource indicators, RFC 9068 token format per audience).
# --------------------------------------------------------------------------------------------------


class ResourceServer(models.Model):
    """A service that accepts this provider's access tokens, named by its resource identifier.

    A token requested with ``resource=<identifier>`` has it as its audience; only the clients in
    ``allowed_clients`` may ask for one, only for scopes the service understands, and the service
    gets the token format it wants (provider_app.internal.resources).
    """

    OPAQUE, JWT = "opaque", "jwt"
    TOKEN_FORMATS = [(OPAQUE, "Opaque (the service introspects it, RFC 7662)"), (JWT, "JWT (RFC 9068)")]

    identifier = models.CharField(
        max_length=255,
        unique=True,
        help_text="The audience: an absolute https URI without fragment (RFC 8707 2), e.g. https://notes.example.com/.",
    )
    name = models.CharField(max_length=100)
    scopes = models.TextField(
        blank=True, default="", help_text="The scopes this service understands, space-separated."
    )
    token_format = models.CharField(max_length=10, choices=TOKEN_FORMATS, default=OPAQUE)
    access_token_lifetime = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Seconds an access token for this service lives (empty: the default).",
    )
    allowed_clients = models.ManyToManyField(
        oauth2_settings.APPLICATION_MODEL,
        blank=True,
        related_name="+",
        help_text="Clients that may request tokens for this service.",
    )
    client = _optional_link(
        oauth2_settings.APPLICATION_MODEL,
        "The service's own client: it may introspect tokens issued for this audience.",
    )
    events_uri = _push_uri_field(
        "Where the provider posts Security Event Tokens (RFC 8417, RFC 8935) when tokens for this "
        "service are revoked, e.g. https://notes.example.com/events/ (https; http only on loopback). "
        "Empty: the service is not told."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identifier"]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"

    def scope_set(self) -> set[str]:
        return set(self.scopes.split())


# --------------------------------------------------------------------------------------------------
# The provider's signing keys, rotated without downtime (R11, provider_app.internal.signing_keys).
# --------------------------------------------------------------------------------------------------


class SigningKey(models.Model):
    """An RSA key that signs ID tokens and JWT access tokens, or is published for tokens it signed.

    Lifecycle: ``published`` (in the JWKS, not signing yet) → ``active`` (signing; one at a time) →
    ``retired`` (still in the JWKS until ``retire_after``, when every token it signed has expired)
    → deleted. The private key is stored Fernet-encrypted (P16); the admin never shows it.
    """

    PUBLISHED, ACTIVE, RETIRED = "published", "active", "retired"
    STATES = [
        (PUBLISHED, "Published, not signing yet"),
        (ACTIVE, "Signing"),
        (RETIRED, "Retired, still published"),
    ]

    kid = models.CharField(max_length=64, unique=True, help_text="The key's RFC 7638 thumbprint.")
    state = models.CharField(max_length=10, choices=STATES, default=PUBLISHED)
    private_key = models.TextField(help_text="The PEM private key, encrypted.")
    created = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retire_after = models.DateTimeField(
        null=True, blank=True, help_text="Retired: removed from the JWKS after this time."
    )

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="active"),
                name="provider_app_one_active_signing_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.state})"


# --------------------------------------------------------------------------------------------------
# Browsers where an account signed in: their failures are counted apart (P20, internal.known_devices).
# --------------------------------------------------------------------------------------------------


class KnownLoginDevice(models.Model):
    """A browser that completed a sign-in for ``user``, named by a signed cookie holding ``id``.

    Sign-in from it is throttled by its own failures, not by the account's, so that someone who
    only knows the username cannot keep the real user out. Holds no secret: the cookie is signed
    with ``SECRET_KEY``, and a row alone lets nobody in.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    last_sign_in = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    last_failure = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "known sign-in device"
        indexes = [models.Index(fields=["user", "last_sign_in"], name="provider_app_known_dev_user")]

    def __str__(self) -> str:
        return f"sign-in device of {self.user} since {self.created:%Y-%m-%d}"


# --------------------------------------------------------------------------------------------------
# How the user authenticated for each authorization (provider_app.internal.login).
# --------------------------------------------------------------------------------------------------


class AuthenticationContext(models.Model):
    """How the user authenticated for one authorization: ``auth_time``, ``amr``, ``acr`` (OIDC Core 2).

    Written when the authorization code is issued (keyed by the code's SHA-256, so it does not
    depend on how the grant itself is stored), read by the token endpoint, which has no browser
    session. The code's exchange links it to the sign-in's refresh-token family (every rotation
    keeps it) and to the latest ID token, so that refreshed ID tokens and JWT access tokens keep
    the original ``auth_time``/``amr``/``acr`` (OIDC Core 12.2; RFC 9068 2.2.1, R2), with or without
    ``openid``. ``clear_expired_tokens`` removes it once the family and the ID token are gone.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    id_token = models.OneToOneField(
        oauth2_settings.ID_TOKEN_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authentication_context",
    )
    token_family = models.UUIDField(
        null=True, blank=True, db_index=True, help_text="The sign-in's refresh-token family (R2)."
    )
    auth_time = models.DateTimeField()
    sid = models.CharField(
        max_length=64, blank=True, default="", help_text="The provider session's sid (OIDC BCL 2.1)."
    )
    amr = models.JSONField(default=list, help_text="RFC 8176 authentication method references.")
    acr = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} at {self.auth_time:%Y-%m-%d %H:%M:%S} ({' '.join(self.amr)})"


# --------------------------------------------------------------------------------------------------
# Which clients each provider session signed in to (OIDC Back-Channel Logout, L1, L3).
# --------------------------------------------------------------------------------------------------


class SignedInClient(models.Model):
    """An ID token issued to ``application`` for ``user`` through the provider session ``sid``.

    Written with the token response of each authorization code (provider_app.internal
    .backchannel_logout); when that session ends (or, for events about the whole account, any
    session of ``user``), the client gets a logout token and the rows go. ``sid`` is a random value
    kept in the session, never the session key; a row lets nobody in.
    """

    sid = models.CharField(max_length=64, db_index=True)
    issuer = models.CharField(max_length=255, help_text="The ID token's iss: the logout token's too.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "client signed in by a provider session"

    def __str__(self) -> str:
        return f"{self.application} signed in for {self.user}"


# --------------------------------------------------------------------------------------------------
# Deliveries to clients and services, written with the change and sent by a worker (L7, L8, E4-E6).
# --------------------------------------------------------------------------------------------------


class OutboundDelivery(models.Model):
    """One message to POST to a client or a service, kept until it is delivered or useless.

    Written in the transaction of the change that caused it (E4); a task (Django's tasks framework)
    sends it after the commit, never the request itself (L7), and retries with exponential backoff
    until ``expires_at`` (L8, E5). ``claims`` are the claims of the JWT to send, signed at each
    attempt with the current key and a fresh ``iat``/``exp`` (same ``jti``, so a receiver acts once):
    no signed token rests here. ``kind`` says how the body is made (provider_app.internal.outbox).
    """

    PENDING, FAILED, DELIVERED, EXPIRED = "pending", "failed", "delivered", "expired"
    STATES = [
        (PENDING, "Pending"),
        (FAILED, "Failed, will retry"),
        (DELIVERED, "Delivered"),
        (EXPIRED, "Expired (gave up)"),
    ]
    BACKCHANNEL_LOGOUT = "backchannel_logout"
    SECURITY_EVENT = "security_event"
    KINDS = [
        (BACKCHANNEL_LOGOUT, "OIDC back-channel logout token"),
        (SECURITY_EVENT, "Security Event Token (token revoked)"),
    ]

    kind = models.CharField(max_length=32, choices=KINDS)
    application = _optional_link(oauth2_settings.APPLICATION_MODEL, "The client or service it is for.")
    target_url = models.CharField(max_length=255)
    claims = models.JSONField(help_text="The claims to sign at each attempt (no signed token is stored).")
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="No attempt after this: the message is useless by then.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "outbound delivery"
        verbose_name_plural = "outbound deliveries"
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="provider_app_outbox_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.target_url} ({self.state})"


# Token exchange (RFC 8693): which client may exchange which tokens, and what each exchange issued.
# --------------------------------------------------------------------------------------------------


class TokenExchangePolicy(models.Model):
    """What one client (a service) may do with the token exchange grant (RFC 8693; X2).

    The policy is the authority for exchange targets: a target needs to be a registered resource
    server listed here, not one whose ``allowed_clients`` name the client (those govern the other
    grants). A client without a policy may not exchange (``unauthorized_client``).
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="token_exchange_policy"
    )
    source_audiences = models.ManyToManyField(
        ResourceServer,
        blank=True,
        related_name="+",
        help_text=(
            "Tokens issued for these audiences may be exchanged by this client. Only the client's own "
            "resource servers count (a token it was sent because it is that audience; RFC 8693 2.1)."
        ),
    )
    target_audiences = models.ManyToManyField(
        ResourceServer,
        blank=True,
        related_name="+",
        help_text="The audiences this client may ask exchanged tokens for (RFC 8693 4.4 may_act).",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "token exchange policy"
        verbose_name_plural = "token exchange policies"

    def __str__(self) -> str:
        return f"token exchange policy of {self.application}"


class ExchangedToken(models.Model):
    """What one token exchange issued: the access token, its ``act`` chain (RFC 8693 4.1), and its
    link to the subject token, so that revoking the subject revokes it (X7).

    No database constraint to the token tables: a revocation deletes the tokens (DOT's way), and
    a constraint would cost every token deletion a lookup here. Rows go with their ``expires``
    (``provider_app_cleartokens``); an access token deleted meanwhile leaves a row that names no token.
    """

    access_token = models.OneToOneField(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="provider_app_exchange",  # read with the token (select_related), no extra query
    )
    #: The subject token's primary key (deleted with it: revoking it revokes this, X7).
    subject_token_id = models.BigIntegerField(db_index=True)
    #: The subject token's refresh-token family, inherited along a chain (revoked with it, X7).
    token_family = models.UUIDField(null=True, blank=True, db_index=True)
    act = models.JSONField(help_text="The RFC 8693 4.1 act claim: the acting client, nested for a chain.")
    authentication = models.JSONField(
        default=dict,
        blank=True,
        help_text="auth_time, amr, acr of the user's authentication behind the subject token (R2).",
    )
    source_audience = models.CharField(max_length=255)
    target_audience = models.CharField(max_length=255)
    expires = models.DateTimeField(db_index=True)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"exchange #{self.pk} for {self.target_audience}"
