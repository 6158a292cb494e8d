"""Registered resource servers (RFC 8707 resource indicators, RFC 9068 token format per audience)."""

from __future__ import annotations

from django.db import models
from oauth2_provider.settings import oauth2_settings


class ResourceServer(models.Model):
    """A service that accepts this provider's access tokens, named by its resource identifier.

    A token requested with ``resource=<identifier>`` has it as its audience; only the clients in
    ``allowed_clients`` may ask for one, only for scopes the service understands, and the service
    gets the token format it wants (provider_app.resource_servers).
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
    client = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The service's own client: it may introspect tokens issued for this audience.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identifier"]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"

    def scope_set(self) -> set[str]:
        return set(self.scopes.split())
