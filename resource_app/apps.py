from __future__ import annotations

from django.apps import AppConfig


class ResourceAppConfig(AppConfig):
    name = "resource_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "OAuth resource server"

    def ready(self) -> None:
        from resource_app import checks  # noqa: F401  (system checks register on import)
