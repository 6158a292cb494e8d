"""provider_app's own tables, beside DOT's: remembered consents and per-client policy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings

from provider_app.audit_models import AuditEvent  # noqa: F401  (the audit log, provider_app.audit)
from provider_app.cache_models import PendingCacheInvalidation  # noqa: F401  (P23, cache_outbox)
from provider_app.replay_models import RedeemedCode  # noqa: F401  (code replay detection, P5)
from provider_app.resource_models import ResourceServer  # noqa: F401  (RFC 8707, RFC 9068)
from provider_app.signing_key_models import SigningKey  # noqa: F401  (key rotation, R11)
from provider_app.throttling_models import KnownLoginDevice  # noqa: F401  (login throttling, P20)
from provider_app.two_factor.models import (  # noqa: F401  (two-factor, provider_app.two_factor)
    AuthenticationContext,
    EncryptedTOTPDevice,
    RecoveryCode,
    RecoveryCodeDevice,
    TOTPSeed,
)
from provider_app.usage_models import ClientUsage  # noqa: F401  (connected apps, last used)


def normalise_scopes(scopes: str | list[str]) -> str:
    """A scope set as one canonical string: unique, sorted, space-separated (RFC 6749 3.3)."""
    if isinstance(scopes, str):
        scopes = scopes.split()
    return " ".join(sorted(set(scopes)))


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

    class Meta:
        verbose_name_plural = "client policies"

    def __str__(self) -> str:
        return f"policy of {self.application}"

    def audiences(self) -> set[str]:
        """The resource identifiers of this resource server (empty unless it is one)."""
        return set(self.resource_identifiers.split()) if self.is_resource_server else set()
