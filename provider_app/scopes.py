"""DOT's ``SCOPES_BACKEND_CLASS``: the settings' scopes plus those of registered resource servers.

A scope a registered resource server understands (provider_app.resource_models) is available to
the clients that resource allows, and described on the consent page as "<scope> (<resource name>)".
A request asking only for the settings' scopes costs no query.
"""

from __future__ import annotations

from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings

from provider_app.resource_models import ResourceServer


class ResourceServerScopes(SettingsScopes):
    def get_all_scopes(self) -> dict[str, str]:
        scopes = dict(oauth2_settings.SCOPES)
        for server in ResourceServer.objects.only("name", "scopes"):
            for scope in server.scope_set():
                scopes.setdefault(scope, f"{scope} ({server.name})")
        return scopes

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        available = list(oauth2_settings._SCOPES)
        requested = set(getattr(request, "scopes", None) or ())
        if application is None or requested <= set(available):
            return available
        servers = ResourceServer.objects.filter(allowed_clients=application).only("scopes")
        return available + sorted(
            {scope for server in servers for scope in server.scope_set()} - set(available)
        )
