"""System checks: ``resource_app.E001``-``E005`` (configuration a service cannot run without) and
``W001`` (a deny-list that forgets revocations while the revoked tokens may still be valid)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from resource_app.app_settings import MODES, app_settings
from resource_app.internal.jwt_access_tokens import ASYMMETRIC


def _https_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        settings.DEBUG and parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
    )


@register(Tags.security)
def check_settings(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    if not app_settings.ISSUER or not _https_or_local(app_settings.ISSUER):
        errors.append(
            Error(
                "RESOURCE_APP_ISSUER must be the provider's issuer, an https URL.",
                hint="http is allowed only for localhost with DEBUG on.",
                id="resource_app.E001",
            )
        )
    if not app_settings.AUDIENCE:
        errors.append(
            Error(
                "RESOURCE_APP_AUDIENCE must name this service (its resource identifier at the provider).",
                id="resource_app.E002",
            )
        )
    if app_settings.MODE not in MODES:
        errors.append(Error(f"RESOURCE_APP_MODE must be one of {MODES}.", id="resource_app.E003"))
    elif app_settings.MODE in ("introspection", "auto") and not (
        app_settings.CLIENT_ID and app_settings.CLIENT_SECRET
    ):
        errors.append(
            Error(
                "Introspection needs RESOURCE_APP_CLIENT_ID and RESOURCE_APP_CLIENT_SECRET.",
                id="resource_app.E003",
            )
        )
    for name in ("JWKS_URI", "INTROSPECTION_ENDPOINT"):
        value = getattr(app_settings, name)
        if value and not _https_or_local(value):
            errors.append(Error(f"RESOURCE_APP_{name} must be an https URL.", id="resource_app.E001"))
    bad = [alg for alg in app_settings.ALGORITHMS if alg not in ASYMMETRIC]
    if bad or not app_settings.ALGORITHMS:
        errors.append(
            Error(
                f"RESOURCE_APP_ALGORITHMS may hold asymmetric algorithms only (not {bad}).",
                hint="Never none, never HS256/HS384/HS512 (RFC 8725 3.1).",
                id="resource_app.E004",
            )
        )
    return errors + _deny_list_checks()


# provider_app's default access-token lifetime (DOT's ACCESS_TOKEN_EXPIRE_SECONDS in its
# recommended settings); a service cannot see the lifetimes of its provider, only be told.
USUAL_TOKEN_LIFETIME = 3600


def _deny_list_checks() -> list[Error | Warning]:
    if app_settings.DENY_LIST_SYNC_SECONDS <= 0 or app_settings.DENY_LIST_SECONDS <= 0:
        return [
            Error(
                "RESOURCE_APP_DENY_LIST_SYNC_SECONDS and RESOURCE_APP_DENY_LIST_SECONDS must be positive.",
                id="resource_app.E005",
            )
        ]
    if app_settings.DENY_LIST_SECONDS < USUAL_TOKEN_LIFETIME:
        return [
            Warning(
                "RESOURCE_APP_DENY_LIST_SECONDS is shorter than an hour: a revoked token that lives "
                "longer is accepted again once its entry is gone.",
                hint="Set it at least to the longest access-token lifetime of this audience at the provider.",
                id="resource_app.W001",
            )
        ]
    return []
