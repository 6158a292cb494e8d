"""Two-factor tables: encrypted TOTP seeds and hashed recovery codes.

Imported by :mod:`provider_app.models`, so the tables belong to the ``provider_app`` app label.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.two_factor import seeds
from provider_app.two_factor.recovery import candidate_digests


class TOTPSeed(models.Model):
    """A TOTP device's seed, Fernet-encrypted (P28); the device's own ``key`` holds no secret."""

    device = models.OneToOneField(TOTPDevice, on_delete=models.CASCADE, primary_key=True, related_name="+")
    ciphertext = models.TextField(help_text="The hex seed, encrypted (provider_app.two_factor.seeds).")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "TOTP seed (encrypted)"
        verbose_name_plural = "TOTP seeds (encrypted)"
        # Written and read by provider_app's code only (P28): no admin permission to grant on them.
        default_permissions = ()

    def __str__(self) -> str:
        return f"encrypted seed of TOTP device {self.device_id}"


class EncryptedTOTPDevice(TOTPDevice):
    """django-otp's ``TOTPDevice`` reading its seed from :class:`TOTPSeed` (verification, QR code)."""

    class Meta:
        proxy = True
        verbose_name = "TOTP device"

    @property
    def bin_key(self) -> bytes:
        return seeds.bin_key(self)


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """A user's recovery codes as one django-otp device (so a recovery login marks the session verified).

    django-otp's static tokens are stored in clear; these are :class:`RecoveryCode` rows holding only
    a keyed SHA-256 digest. Each code is accepted once, also under concurrent submissions: the code
    is consumed by one conditional ``UPDATE`` (RFC 4226 7.3 throttling comes from ThrottlingMixin).
    """

    class Meta(Device.Meta):
        verbose_name = "recovery code set"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        consumed = RecoveryCode.objects.filter(
            device=self, digest__in=candidate_digests(str(token)), used_at__isnull=True
        ).update(used_at=timezone.now())
        if consumed:
            self.throttle_reset(commit=False)
        else:
            self.throttle_increment(commit=False)
        self.save(update_fields=["throttling_failure_timestamp", "throttling_failure_count"])
        return bool(consumed)

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    """One single-use recovery code, stored as its keyed SHA-256 digest only (P16)."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code {self.pk} ({'used' if self.used_at else 'unused'})"


def __getattr__(name: str):
    # Moved to provider_app.models (how the user authenticated belongs to login, not two-factor).
    if name == "AuthenticationContext":
        from provider_app.internal.compat import moved

        return moved(__name__, name, "provider_app.models")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
