"""The audit log table: one row per security event (who, what, when, from where), never a secret.

Rows are written only through :func:`provider_app.audit.record`, which scrubs the details.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings


class AuditEvent(models.Model):
    """A security event: a login, a consent, a token issued or revoked, a replay detected, ...

    ``username`` and ``client_id`` are copies taken when the event happened, so the row still says
    who and which client after the user or the client is deleted (the foreign keys become NULL).
    """

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    event = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    # No index on username and client_id: the admin searches them with icontains, which a b-tree
    # index cannot serve, and every index costs each insert (one per token response).
    username = models.CharField(max_length=150, blank=True)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
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
