"""Remembering what a user approved, per user, client and scope set."""

from __future__ import annotations

from provider_app.models import Consent, normalise_scopes


def has_consent(user, application, scopes: list[str]) -> bool:
    if application.skip_authorization:  # a first-party client: no consent page
        return True
    consent = Consent.objects.filter(user=user, application=application).only("scope").first()
    return consent is not None and consent.covers(scopes)


def remember_consent(user, application, scopes: list[str]) -> Consent:
    consent, created = Consent.objects.get_or_create(
        user=user, application=application, defaults={"scope": normalise_scopes(scopes)}
    )
    if not created and not consent.covers(scopes):
        consent.scope = normalise_scopes(consent.scope.split() + list(scopes))
        consent.save(update_fields=["scope", "updated"])
    return consent
