"""Registering resource servers (the admin and ``manage.py provider_app_register_resource``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from oauth2_provider.models import get_application_model

from provider_app.resource_models import ResourceServer


def check_identifier(identifier: str) -> str:
    """RFC 8707 2: an absolute URI without a fragment; https (http only for loopback with DEBUG)."""
    parts = urlsplit(identifier)
    if not parts.scheme or not parts.netloc or parts.fragment or "#" in identifier:
        raise ValueError("A resource identifier is an absolute URI without a fragment (RFC 8707 2).")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and settings.DEBUG):
        raise ValueError("A resource identifier must be an https URI.")
    return identifier


@transaction.atomic
def register(
    *,
    identifier: str,
    name: str,
    scopes: str,
    token_format: str = ResourceServer.OPAQUE,
    access_token_lifetime: int | None = None,
    allowed_client_ids: list[str] = (),
    client_id: str | None = None,
) -> tuple[ResourceServer, bool]:
    """Create or update the resource server ``identifier``; returns it and whether it was created."""
    check_identifier(identifier)
    if token_format not in dict(ResourceServer.TOKEN_FORMATS):
        raise ValueError(f"The token format is one of {sorted(dict(ResourceServer.TOKEN_FORMATS))}.")
    Application = get_application_model()
    clients = list(Application.objects.filter(client_id__in=allowed_client_ids))
    missing = set(allowed_client_ids) - {c.client_id for c in clients}
    if missing:
        raise ValueError(f"No client with the client_id {sorted(missing)[0]!r}.")
    own_client = Application.objects.filter(client_id=client_id).first() if client_id else None
    if client_id and own_client is None:
        raise ValueError(f"No client with the client_id {client_id!r}.")
    server, created = ResourceServer.objects.update_or_create(
        identifier=identifier,
        defaults={
            "name": name,
            "scopes": " ".join(sorted(set(scopes.split()))),
            "token_format": token_format,
            "access_token_lifetime": access_token_lifetime,
            **({"client": own_client} if client_id else {}),
        },
    )
    if allowed_client_ids:
        server.allowed_clients.add(*clients)
    return server, created
