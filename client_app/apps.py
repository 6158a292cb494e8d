from __future__ import annotations

from django.apps import AppConfig


class ClientAppConfig(AppConfig):
    name = "client_app"
    verbose_name = "Log in with a provider"
    default_auto_field = "django.db.models.BigAutoField"
