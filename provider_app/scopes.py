"""DOT's ``SCOPES_BACKEND_CLASS``: the settings' scopes plus those of registered resource servers.

A scope a registered resource server understands (provider_app.resource_models) is available to
the clients that resource allows, and described on the consent page as "<scope> (<resource name>)".
A request asking only for the settings' scopes costs no query. Discovery's ``scopes_supported``
lists the settings' scopes only (RFC 8414 lets it omit some).
"""

from __future__ import annotations

from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings

from provider_app.resource_models import ResourceServer


class _SettingsScopes(dict):
    """The settings' scopes; a scope it does not hold (a resource's) is described by its name."""

    def __missing__(self, scope: str) -> str:
        return scope


class ResourceServerScopes(SettingsScopes):
    """``get_all_scopes`` stays the settings' (it is read on hot paths such as UserInfo) and answers a
    resource's scope with its name; the consent page describes those itself (:func:`describe`)."""

    def get_all_scopes(self) -> dict[str, str]:
        return _SettingsScopes(oauth2_settings.SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        available = list(oauth2_settings._SCOPES)
        requested = set(getattr(request, "scopes", None) or ())
        if application is None or requested <= set(available):
            return available
        servers = ResourceServer.objects.filter(allowed_clients=application).only("scopes")
        return available + sorted(
            {scope for server in servers for scope in server.scope_set()} - set(available)
        )


def describe(scopes, resources) -> list[tuple[str, str]]:
    """(scope, plain-words description) for the consent page, resource servers' scopes included."""
    described = dict(oauth2_settings.SCOPES)
    missing = [scope for scope in scopes if scope not in described]
    if missing and resources:
        for server in ResourceServer.objects.filter(identifier__in=resources).only("name", "scopes"):
            for scope in server.scope_set():
                described.setdefault(scope, f"{scope} ({server.name})")
    return [(scope, described.get(scope, scope)) for scope in scopes]
