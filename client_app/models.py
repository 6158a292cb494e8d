"""client_app's data: providers, account links by (issuer, sub), token sets, pending logins, and the
sessions and logout tokens of back-channel logout."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from client_app.fields import EncryptedTextField

# OIDC Core 3.1.3.7 / RFC 8725 3.1: asymmetric algorithms only. HMAC ("HS*") would make the client
# secret a signing key, and "none" is no signature at all: neither is ever accepted.
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


def validate_algorithms(value: str) -> None:
    unknown = [alg for alg in value.split() if alg not in ASYMMETRIC_ALGORITHMS]
    if unknown:
        raise ValidationError(
            "Only asymmetric signature algorithms are allowed (%(allowed)s); refused: %(unknown)s",
            params={"allowed": ", ".join(ASYMMETRIC_ALGORITHMS), "unknown": ", ".join(unknown)},
        )
    if not value.split():
        raise ValidationError("Name at least one algorithm.")


class Provider(models.Model):
    """An OAuth 2.0 / OpenID Connect provider this site lets its users log in with.

    Endpoints come from OpenID discovery (``<issuer>/.well-known/openid-configuration``) when
    ``use_discovery`` is on; an endpoint field filled in by hand overrides the discovered value, and
    is the only source for plain OAuth 2.0 providers without discovery.
    """

    AUTH_BASIC = "client_secret_basic"
    AUTH_POST = "client_secret_post"
    AUTH_METHODS = [
        (AUTH_BASIC, "HTTP Basic (client_secret_basic)"),
        (AUTH_POST, "Form body (client_secret_post)"),
    ]

    name = models.CharField("display name", max_length=100)
    slug = models.SlugField(unique=True, help_text="Used in URLs, e.g. /<slug>/callback/.")
    issuer = models.URLField(
        max_length=255, help_text="The issuer identifier, exactly as the provider writes it in ID tokens."
    )
    use_discovery = models.BooleanField(default=True, help_text="Read endpoints from OpenID discovery.")
    authorization_endpoint = models.URLField(max_length=500, blank=True)
    token_endpoint = models.URLField(max_length=500, blank=True)
    userinfo_endpoint = models.URLField(max_length=500, blank=True)
    jwks_uri = models.URLField("JWKS URI", max_length=500, blank=True)
    end_session_endpoint = models.URLField(max_length=500, blank=True)
    revocation_endpoint = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField(blank=True, help_text="Encrypted at rest; never displayed again.")
    token_endpoint_auth_method = models.CharField(max_length=32, choices=AUTH_METHODS, default=AUTH_BASIC)
    scopes = models.CharField(max_length=500, default="openid profile email")
    extra_authorization_params = models.JSONField(
        default=dict,
        blank=True,
        help_text='Added to the authorization request, e.g. {"prompt": "select_account"}.',
    )
    id_token_signing_algs = models.CharField(
        "allowed ID token algorithms", max_length=200, default="RS256", validators=[validate_algorithms]
    )
    subject_claim = models.CharField(
        max_length=64,
        default="sub",
        help_text="UserInfo member that identifies the user without an ID token.",
    )
    trust_email_verified = models.BooleanField(
        default=False,
        help_text="Link a first login to an existing user with the same e-mail when this provider says "
        "email_verified (also needs CLIENT_APP_LINK_BY_VERIFIED_EMAIL).",
    )
    logout_at_provider = models.BooleanField(
        "RP-initiated logout",
        default=False,
        help_text="Also sign out at the provider's end_session_endpoint.",
    )
    logout_send_id_token_hint = models.BooleanField(
        default=False,
        help_text="Send the ID token as id_token_hint in the logout URL (some providers need it; it puts "
        "the ID token in the browser's address bar). Otherwise client_id is sent.",
    )
    revoke_tokens_on_logout = models.BooleanField(default=False, help_text="RFC 7009 revocation at logout.")
    resources = models.TextField(
        blank=True,
        help_text=(
            "Space-separated absolute URIs of the services this site calls with the user's tokens "
            "(RFC 8707 resource indicators). The login asks for them and for the provider itself."
        ),
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0, help_text="Order on the login page.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.issuer and not settings.DEBUG and not self.issuer.startswith("https://"):
            host = self.issuer.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
            if host not in ("localhost", "127.0.0.1", "[::1]"):
                raise ValidationError({"issuer": "The issuer must use https (OIDC Core 3.1.2.1)."})
        if not isinstance(self.extra_authorization_params, dict):
            raise ValidationError({"extra_authorization_params": 'A JSON object, e.g. {"prompt": "login"}.'})
        for resource in self.resource_list:
            parts = urlsplit(resource)
            if not parts.scheme or not parts.netloc or "#" in resource:
                raise ValidationError({"resources": "Absolute URIs without a fragment (RFC 8707 2)."})
        if not self.use_discovery:
            missing = [f for f in ("authorization_endpoint", "token_endpoint") if not getattr(self, f)]
            if missing:
                raise ValidationError({f: "Required without discovery." for f in missing})

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def resource_list(self) -> list[str]:
        """The services' audiences (RFC 8707) this site asks tokens for, besides the provider's own."""
        return list(dict.fromkeys(self.resources.split()))

    @property
    def is_openid(self) -> bool:
        """OpenID Connect (an ID token is expected) when the ``openid`` scope is requested."""
        return "openid" in self.scope_list

    @property
    def allowed_algorithms(self) -> list[str]:
        return [alg for alg in self.id_token_signing_algs.split() if alg in ASYMMETRIC_ALGORITHMS]


def unique_per(*fields: str, name: str) -> models.UniqueConstraint:
    """At most one row for each combination of ``fields``."""
    return models.UniqueConstraint(fields=list(fields), name=name)


class SocialAccount(models.Model):
    """A local user's link to an identity at a provider, by (issuer, sub) only (C6)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="social_accounts"
    )
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="accounts")
    issuer = models.CharField(max_length=255)
    sub = models.CharField("subject", max_length=255)
    claims = models.JSONField(default=dict, blank=True, help_text="The last ID token and UserInfo claims.")
    created = models.DateTimeField(auto_now_add=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [unique_per("issuer", "sub", name="client_app_unique_issuer_sub")]

    def __str__(self) -> str:
        return f"{self.provider} account of {self.user}"

    @property
    def display_name(self) -> str:
        for claim in ("preferred_username", "email", "name"):
            if self.claims.get(claim):
                return str(self.claims[claim])
        return self.sub


class KeptAccessToken(models.Model):
    """An access token kept for a user, encrypted at rest (C8), with its scope and its expiry
    (``expires_at`` None: no announced expiry)."""

    access_token = EncryptedTextField(blank=True)
    scope = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def expires_within(self, seconds: int) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now() + timedelta(seconds=seconds)


class TokenSet(KeptAccessToken):
    """A user's tokens from one provider, encrypted at rest and never sent to the browser (C8).

    ``version`` grows at every refresh, and ``refresh_claim`` marks the one request that is
    refreshing: :mod:`client_app.internal.token_store` uses them so that two requests refreshing at
    once never both send a rotated refresh token (C10).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    refresh_token = EncryptedTextField(blank=True)
    id_token = EncryptedTextField(blank=True)
    token_type = models.CharField(max_length=40, default="Bearer")
    version = models.PositiveIntegerField(default=0)
    refresh_claim = models.CharField(max_length=64, blank=True, help_text="Set while one request refreshes.")
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [unique_per("user", "provider", name="client_app_unique_token_set")]

    def __str__(self) -> str:
        return f"tokens of {self.user} at {self.provider}"


class ResourceToken(KeptAccessToken):
    """An access token of a token set for one of its provider's ``resources`` (RFC 8707), obtained
    by a refresh with ``resource`` (RFC 8707 2.2), encrypted at rest like the others (C8).

    Valid while the token set has not been refreshed since (``token_set_version``: a provider that
    rotates refresh tokens may revoke the previous pair) and until shortly before it expires; deleted
    with its token set (logout, back-channel logout, a new login).
    """

    token_set = models.ForeignKey(TokenSet, on_delete=models.CASCADE, related_name="resource_tokens")
    resource = models.CharField(max_length=500)
    token_set_version = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "service token"  # the docs' and the demo's word for it
        constraints = [unique_per("token_set", "resource", name="client_app_unique_resource_token")]

    def __str__(self) -> str:
        return f"token for {self.resource}"


def hash_value(value: str) -> str:
    """SHA-256 hex digest: state and session bindings are looked up by hash, never stored raw."""
    return hashlib.sha256(value.encode()).hexdigest()


class PendingLogin(models.Model):
    """One started login (or connect): what the callback needs to finish it. Single use (C1-C3)."""

    ACTION_LOGIN = "login"
    ACTION_CONNECT = "connect"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    state_hash = models.CharField(max_length=64, unique=True)
    session_binding_hash = models.CharField(max_length=64)
    nonce = models.CharField(max_length=128)
    code_verifier = EncryptedTextField()
    redirect_uri = models.URLField(max_length=500)
    next_url = models.CharField(max_length=2000, blank=True)
    action = models.CharField(max_length=16, default=ACTION_LOGIN)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"pending {self.action} with {self.provider}"


class ProviderSession(models.Model):
    """A local session begun by a login at a provider, with the provider's session id (``sid``)
    and subject: what an OpenID Connect back-channel logout ends (OIDC BCL 2.7). The session key
    is kept encrypted (it is a bearer secret) and looked up by its hash."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sub = models.CharField("subject", max_length=255)
    sid = models.CharField("provider session id", max_length=255, blank=True)
    session_key = EncryptedTextField()
    session_key_hash = models.CharField(max_length=64, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["provider", "sid"], name="client_app_session_by_sid"),
            models.Index(fields=["provider", "sub"], name="client_app_session_by_sub"),
        ]

    def __str__(self) -> str:
        return f"session of {self.user} at {self.provider}"


class SeenLogoutToken(models.Model):
    """The ``jti`` of each logout token accepted, until it could no longer be fresh: a logout token
    is accepted once (OIDC BCL 2.6 step 10)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [unique_per("provider", "jti", name="client_app_unique_logout_jti")]

    def __str__(self) -> str:
        return f"logout token {self.jti} of {self.provider}"
