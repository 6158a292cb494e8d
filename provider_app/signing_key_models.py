"""The provider's signing keys, rotated without downtime (R11, provider_app.signing_keys)."""

from __future__ import annotations

from django.db import models


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
