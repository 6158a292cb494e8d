"""Cache invalidations that could not reach the shared cache yet (P23, provider_app.cache_outbox)."""

from __future__ import annotations

from django.db import models


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
