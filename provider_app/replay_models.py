"""The record of redeemed authorization codes, kept to detect and answer code replay (P5).

RFC 6749 4.1.2: "If an authorization code is used more than once, the authorization server MUST
deny the request and SHOULD revoke (when possible) all tokens previously issued based on that
authorization code." DOT deletes a code once used and forgets it; this table remembers the hash of
every redeemed code with what was issued from it, for
``PROVIDER_APP_REDEEMED_CODE_RETENTION_SECONDS`` after redemption.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings


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
