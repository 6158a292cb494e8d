"""Signal receivers: every path that saves a client (admin, createapplication, code) is checked."""

from __future__ import annotations

from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from oauth2_provider.models import get_application_model

from provider_app.client_secrets import generate_client_secret, validate_client_secret_strength
from provider_app.redirect_uris import is_redirect_uri_transport_allowed


def is_hashed(secret: str) -> bool:
    try:
        identify_hasher(secret)
    except ValueError:
        return False
    return True


def enforce_client_rules(sender, instance, **kwargs) -> None:
    """Secrets are always hashed at rest (P16) and strong; http redirect URIs only on loopback (P13)."""
    instance.hash_client_secret = True
    if not instance.client_secret:
        instance.client_secret = generate_client_secret()
    elif not is_hashed(instance.client_secret):
        validate_client_secret_strength(instance.client_secret)
    bad = [uri for uri in instance.redirect_uris.split() if not is_redirect_uri_transport_allowed(uri)]
    if bad:
        raise ValidationError(f"http redirect URIs are only allowed for loopback hosts: {', '.join(bad)}")
    if not instance.algorithm:
        instance.algorithm = instance.RS256_ALGORITHM
    if instance.algorithm != instance.RS256_ALGORITHM:
        raise ValidationError("provider_app signs ID tokens with RS256 only.")


def connect() -> None:
    pre_save.connect(enforce_client_rules, sender=get_application_model(), dispatch_uid="provider_app_client")
