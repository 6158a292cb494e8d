"""Signal receivers of two-factor, connected by ``ProviderAppConfig.ready()``."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save, pre_save
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.two_factor import seeds
from provider_app.two_factor.session import on_user_logged_in


def drop_recovery_codes_without_device(sender, instance, **kwargs) -> None:
    """With the user's last authenticator app gone (self-service or admin), the recovery codes go."""
    from provider_app.two_factor.models import RecoveryCodeDevice

    if not TOTPDevice.objects.filter(user_id=instance.user_id, confirmed=True).exists():
        RecoveryCodeDevice.objects.filter(user_id=instance.user_id).delete()


def connect() -> None:
    user_logged_in.connect(on_user_logged_in, dispatch_uid="provider_app_two_factor_login")
    post_delete.connect(
        drop_recovery_codes_without_device, sender=TOTPDevice, dispatch_uid="provider_app_two_factor_device"
    )
    from provider_app.two_factor.models import EncryptedTOTPDevice

    # P28: whichever class saves a device (django-otp's, the proxy), its seed is stored encrypted.
    for model in (TOTPDevice, EncryptedTOTPDevice):
        uid = f"provider_app_totp_seed_{model._meta.model_name}"
        pre_save.connect(seeds.seal_before_save, sender=model, dispatch_uid=uid + "_pre")
        post_save.connect(seeds.store_after_save, sender=model, dispatch_uid=uid + "_post")
        if model is not TOTPDevice:
            post_delete.connect(
                drop_recovery_codes_without_device, sender=model, dispatch_uid=uid + "_delete"
            )
