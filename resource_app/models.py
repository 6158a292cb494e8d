"""The service's deny-list (E3), written by the revocation-event receiver (:mod:`resource_app.views`)
in the service's own database and read by every worker (:mod:`resource_app.internal.deny_list`).

Nothing secret is stored: a ``jti`` or a ``sub`` names a token or a user, it does not let anyone use
one. Rows are kept ``RESOURCE_APP_DENY_LIST_SECONDS`` (a Security Event Token does not say when the
revoked tokens expire) and removed on the way by later events.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class Revocation(models.Model):
    """One entry: a token (``kind`` ``jti``) or every token of a subject issued at or before
    ``revoked_before`` (``kind`` ``sub``), refused until ``expires_at``."""

    JTI = "jti"
    SUBJECT = "sub"
    KINDS = [(JTI, "one access token (jti)"), (SUBJECT, "every earlier token of a subject (sub)")]

    kind = models.CharField(max_length=3, choices=KINDS)
    value = models.CharField(max_length=255)
    # kind "sub": tokens whose iat is at or before this time (seconds since the epoch) are refused.
    revoked_before = models.FloatField(null=True, blank=True)
    # Workers read only the rows recorded since their last look (an indexed range, not a scan). The
    # database's clock sets it: one clock for every host, whatever their own clocks say.
    recorded_at = models.DateTimeField(db_default=Now(), db_index=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "revocation"

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class ReceivedEvent(models.Model):
    """The ``jti`` of every Security Event Token acted on, so that a delivery retried by the
    provider changes nothing (RFC 8935 2.2: it is acknowledged again)."""

    jti = models.CharField(max_length=255, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.jti
