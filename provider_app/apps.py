"""provider_app's AppConfig: every receiver and every system check is wired here, in ``ready()``."""

from __future__ import annotations

from django.apps import AppConfig


class ProviderAppConfig(AppConfig):
    name = "provider_app"
    verbose_name = "OAuth provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        self.register_checks()
        self.connect_receivers()

    def register_checks(self) -> None:
        from django.core import checks

        from provider_app.checks import DEPLOY_CHECKS, SECURITY_CHECKS

        for check in SECURITY_CHECKS:
            checks.register(check, checks.Tags.security)
        for check in DEPLOY_CHECKS:
            checks.register(check, checks.Tags.security, deploy=True)

    def connect_receivers(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
        from django.core.signals import setting_changed
        from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
        from django_otp.plugins.otp_totp.models import TOTPDevice
        from oauth2_provider.models import get_access_token_model, get_application_model

        from provider_app import audit, signals
        from provider_app.app_settings import app_settings
        from provider_app.internal import (
            backchannel_logout,
            clients,
            compat,
            local_cache,
            login,
            revocation_events,
            storage,
            token_cache,
            tokens,
        )
        from provider_app.models import ResourceServer
        from provider_app.two_factor import seeds
        from provider_app.two_factor.models import EncryptedTOTPDevice
        from provider_app.two_factor.signals import drop_recovery_codes_without_device

        Application = get_application_model()
        User = get_user_model()

        # Settings are kept once read (app_settings.py); a changed setting (tests) is read again.
        # First, so that the receivers below that read a setting see the new value.
        setting_changed.connect(app_settings.reload, dispatch_uid="provider_app_settings")

        # Clients: every save is checked (P13, P16); a changed client leaves the caches (P15).
        clients.install_client_secret_validator(Application)
        pre_save.connect(clients.enforce_client_rules, sender=Application, dispatch_uid="provider_app_client")
        pre_save.connect(clients.client_will_change, sender=Application, dispatch_uid="provider_app_cc_pre")
        post_save.connect(clients.client_changed, sender=Application, dispatch_uid="provider_app_cc_save")
        post_delete.connect(clients.client_changed, sender=Application, dispatch_uid="provider_app_cc_delete")
        # X7: a deleted client's tokens go (cascade), and the tokens exchanged from them too.
        pre_delete.connect(
            tokens.application_deleting, sender=Application, dispatch_uid="provider_app_x7_delete"
        )

        # Bearer tokens: a changed or deleted token, or a changed user, leaves the caches (P23).
        # Disconnected again while no token cache is used: they would do nothing (token_cache.py).
        token_cache.connect_receivers()
        # Both react to a changed token only: a new row (written in one statement by the token
        # response's row batch) needs neither.
        storage.ignore_on_insert("provider_app_tc_pre", "provider_app_tc_save")
        # What a process decided once starts over when a test changes the settings.
        setting_changed.connect(token_cache.on_setting_changed, dispatch_uid="provider_app_token_cache_state")
        setting_changed.connect(local_cache.on_setting_changed, dispatch_uid="provider_app_token_local_cache")

        # How the user authenticated: every login (ours, the admin's, others) records it (P19).
        user_logged_in.connect(login.on_user_logged_in, dispatch_uid="provider_app_two_factor_login")

        # Two-factor: recovery codes go with the last authenticator app; seeds stored encrypted (P28).
        post_delete.connect(
            drop_recovery_codes_without_device,
            sender=TOTPDevice,
            dispatch_uid="provider_app_two_factor_device",
        )
        for model in (TOTPDevice, EncryptedTOTPDevice):
            uid = f"provider_app_totp_seed_{model._meta.model_name}"
            pre_save.connect(seeds.seal_before_save, sender=model, dispatch_uid=uid + "_pre")
            post_save.connect(seeds.store_after_save, sender=model, dispatch_uid=uid + "_post")
            if model is not TOTPDevice:
                post_delete.connect(
                    drop_recovery_codes_without_device, sender=model, dispatch_uid=uid + "_delete"
                )

        # Back-channel logout (L3): a session that ends, or a user whose sessions all end, is told to
        # the clients they signed in to (a logout token through the outbox).
        user_logged_out.connect(backchannel_logout.on_logged_out, dispatch_uid="provider_app_bcl_logged_out")
        pre_save.connect(
            backchannel_logout.user_will_change, sender=User, dispatch_uid="provider_app_bcl_pre"
        )
        post_save.connect(backchannel_logout.user_changed, sender=User, dispatch_uid="provider_app_bcl_user")
        pre_delete.connect(
            backchannel_logout.user_deleting, sender=User, dispatch_uid="provider_app_bcl_delete"
        )

        # A JWT access token's row keeps the JWT's id in DOT's (otherwise empty) token column: its
        # checksum stays the hash of the token itself (internal.storage.stored_jwt_id).
        compat.wrap_token_checksum_pre_save(
            get_access_token_model()._meta.get_field("token_checksum"), storage.keeping_jwt_checksums
        )
        # Revocation events (E1): a revoked JWT access token, or a deactivated user's every JWT, is told
        # to the resource servers of its audience that registered an events URI (a SET via the outbox).
        pre_delete.connect(
            revocation_events.access_token_deleted,
            sender=get_access_token_model(),
            dispatch_uid="provider_app_revocation_events",
        )
        post_save.connect(
            revocation_events.user_changed, sender=User, dispatch_uid="provider_app_events_user"
        )
        # ... looked up once per audience in a bulk revocation (internal.batch), again after a change.
        post_save.connect(
            revocation_events.servers_changed,
            sender=ResourceServer,
            dispatch_uid="provider_app_events_rs_save",
        )
        post_delete.connect(
            revocation_events.servers_changed,
            sender=ResourceServer,
            dispatch_uid="provider_app_events_rs_delete",
        )

        # The audit log: sign-in events (Django's signals).
        user_logged_in.connect(audit.on_logged_in, dispatch_uid="provider_app_audit_logged_in")
        user_logged_out.connect(audit.on_logged_out, dispatch_uid="provider_app_audit_logged_out")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="provider_app_audit_login_failed")
        # ... and provider_app's own signals.
        signals.code_replayed.connect(audit.on_code_replayed, dispatch_uid="provider_app_audit_code_replayed")
        signals.refresh_token_reused.connect(
            audit.on_refresh_token_reused, dispatch_uid="provider_app_audit_refresh_token_reused"
        )
        signals.access_revoked.connect(
            audit.on_access_revoked, dispatch_uid="provider_app_audit_access_revoked"
        )
