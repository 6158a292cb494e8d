"""TOTP devices (django-otp's ``TOTPDevice``) and second-factor verification.

Verification locks the user's device rows (``SELECT ... FOR UPDATE``) inside a transaction, so two
requests submitting the same code at the same moment are serialised: the first moves ``last_t``
forward, the second sees it and is refused (RFC 6238 5.2, P21). Throttling with growing delays and
``last_t`` replay protection are django-otp's (ThrottlingMixin, ``TOTPDevice.verify_token``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import OperationalError, transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.two_factor.recovery import looks_like_recovery_code

# RFC 6238 5.2: one time step of tolerance, no learned drift widening the window.
TOLERANCE_STEPS = 1
UNCONFIRMED_LIFETIME_SECONDS = 3600
_DIGITS = re.compile(r"^\d{6,8}$")


@dataclass(frozen=True)
class Verification:
    """The outcome of one submitted code: the device that accepted it, or when trying is allowed again."""

    device: Device | None
    throttled_until: datetime | None = None
    busy: bool = False  # another request held the device: nothing was decided, try again

    @property
    def ok(self) -> bool:
        return self.device is not None


def confirmed_totp_devices(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True)


def has_two_factor(user) -> bool:
    """The user has at least one confirmed authenticator app: the second step is required."""
    return user is not None and user.is_authenticated and confirmed_totp_devices(user).exists()


def unconfirmed_device(user, name: str = "Authenticator app") -> TOTPDevice:
    """The device being enrolled (the same one on reload, the user may have scanned it already),
    or a new one; unusable for login until confirmed with a valid code."""
    stale = timezone.now() - timedelta(seconds=UNCONFIRMED_LIFETIME_SECONDS)
    TOTPDevice.objects.filter(user=user, confirmed=False, created_at__lt=stale).delete()
    current = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-created_at", "-pk").first()
    if current is not None:
        return current
    with transaction.atomic():  # the device and its encrypted seed (P28) together
        return TOTPDevice.objects.create(
            user=user, name=name[:64], confirmed=False, tolerance=TOLERANCE_STEPS
        )


def clean_token(token: str) -> str:
    return "".join(token.split())


def _verify_locked(device: TOTPDevice, token: str) -> bool:
    # Any stored drift or wider tolerance would accept codes more than one step away (P21).
    device.tolerance = TOLERANCE_STEPS
    device.drift = 0
    return device.verify_token(token)


def _throttled_until(devices) -> datetime | None:
    limits = []
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if not allowed and details and details.get("locked_until"):
            limits.append(details["locked_until"])
    return max(limits) if limits else None


def is_lock_conflict(error: OperationalError) -> bool:
    """A concurrent request held the lock (PostgreSQL deadlock/lock timeout, SQLite busy/locked)."""
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) in {"40P01", "55P03", "40001"}:
        return True
    return getattr(cause, "sqlite_errorcode", None) in {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


def verify_totp(user, token: str, *, confirmed: bool = True, device_id: int | None = None) -> Verification:
    """Check a TOTP code against the user's devices, rows locked for the whole check."""
    try:
        return _verify_totp(user, clean_token(token), confirmed, device_id)
    except OperationalError as error:
        if not is_lock_conflict(error):
            raise
        return Verification(None, busy=True)


def _verify_totp(user, token: str, confirmed: bool, device_id: int | None) -> Verification:
    from provider_app.two_factor.models import EncryptedTOTPDevice

    with transaction.atomic():
        # The proxy reads each seed from its encrypted row (P28, provider_app.two_factor.seeds).
        devices = EncryptedTOTPDevice.objects.select_for_update().filter(user=user, confirmed=confirmed)
        if device_id is not None:
            devices = devices.filter(pk=device_id)
        devices = list(devices.order_by("pk"))
        throttled_until = _throttled_until(devices)
        if throttled_until is not None:
            return Verification(None, throttled_until)  # RFC 4226 7.3: not even tried
        for device in devices:
            if _DIGITS.match(token) and _verify_locked(device, token):
                return Verification(device)
            if not _DIGITS.match(token):
                device.throttle_increment(commit=True)
        return Verification(None)


def verify_recovery_code(user, code: str) -> Verification:
    try:
        return _verify_recovery_code(user, code)
    except OperationalError as error:
        if not is_lock_conflict(error):
            raise
        return Verification(None, busy=True)


def _verify_recovery_code(user, code: str) -> Verification:
    from provider_app.two_factor.models import RecoveryCodeDevice

    with transaction.atomic():
        device = RecoveryCodeDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            return Verification(None)
        throttled_until = _throttled_until([device])
        if throttled_until is not None:
            return Verification(None, throttled_until)
        return Verification(device if device.verify_token(code) else None)


def verify_second_factor(user, code: str) -> Verification:
    """A six-digit code goes to the authenticator apps, a recovery-code-shaped one to the codes."""
    if looks_like_recovery_code(code) and not _DIGITS.match(clean_token(code)):
        return verify_recovery_code(user, code)
    return verify_totp(user, code)


def remove_device(device: TOTPDevice) -> None:
    """Delete a device; with the last authenticator app gone, the recovery codes go too (a signal)."""
    with transaction.atomic():
        device.delete()
