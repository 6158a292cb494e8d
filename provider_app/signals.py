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


def validate_client_secret_field(secret: str) -> None:
    """Field validator: a secret typed by hand must be strong; stored hashes are left alone."""
    if secret and not is_hashed(secret):
        validate_client_secret_strength(secret)


def install_client_secret_validator(application_model) -> None:
    """Make ``full_clean()`` report a weak secret on its field, so DOT's ``createapplication``
    and model forms print a clear message instead of failing later in ``save()``."""
    field = application_model._meta.get_field("client_secret")
    if validate_client_secret_field not in field.validators:
        # Field.validators is a cached_property; filling its cache (not ``_validators``) keeps the
        # field's deconstruct() unchanged, so no migration is ever generated for DOT's model.
        field.__dict__["validators"] = [*field.validators, validate_client_secret_field]


def connect() -> None:
    application_model = get_application_model()
    install_client_secret_validator(application_model)
    pre_save.connect(enforce_client_rules, sender=application_model, dispatch_uid="provider_app_client")
