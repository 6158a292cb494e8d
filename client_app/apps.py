"""Log in with any OAuth 2.0 / OpenID Connect provider, with the code exchanged server-side."""

from __future__ import annotations

from django.apps import AppConfig


class ClientAppConfig(AppConfig):
    name = "client_app"
    verbose_name = "Log in with a provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from client_app import checks  # noqa: F401  (registers the system checks)
