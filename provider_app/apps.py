from __future__ import annotations

from django.apps import AppConfig


class ProviderAppConfig(AppConfig):
    name = "provider_app"
    verbose_name = "OAuth provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from provider_app import checks, signals  # noqa: F401  (checks register on import)

        signals.connect()
        from provider_app import token_cache

        token_cache.connect()  # bearer-token cache invalidation (revocation, changes)
        from provider_app.two_factor import checks as two_factor_checks  # noqa: F401
        from provider_app.two_factor import signals as two_factor_signals

        two_factor_signals.connect()
        from provider_app import audit_signals

        audit_signals.connect()  # sign-in events into the audit log
        from provider_app import security_checks  # noqa: F401  (provider_app.W030-W032)
