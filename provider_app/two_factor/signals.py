"""The receiver of two-factor that is not about seeds, connected by ``ProviderAppConfig.ready()``."""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice


def drop_recovery_codes_without_device(sender, instance, **kwargs) -> None:
    """With the user's last authenticator app gone (self-service or admin), the recovery codes go."""
    from provider_app.two_factor.models import RecoveryCodeDevice

    if not TOTPDevice.objects.filter(user_id=instance.user_id, confirmed=True).exists():
        RecoveryCodeDevice.objects.filter(user_id=instance.user_id).delete()
