"""Known sign-in devices (P20): the account lock cannot keep the real user out.

A per-account lock alone lets anyone who knows a username keep its owner out: one wrong password
each time the wait ends. After a sign-in completes (password, and the second factor if the user has
one), the browser gets a signed cookie naming a :class:`~provider_app.models.KnownLoginDevice`
of that user (OWASP's "device cookies"). A sign-in for that username from that browser is then
throttled by the device's own failures (same limit and growing delays as the account), not by the
account's, which only counts tries from unknown browsers. The per-IP limit applies to every try.

- The cookie is signed (``SECRET_KEY``, its own salt), ``HttpOnly``, ``SameSite=Lax``, ``Secure``
  on https, and expires ``PROVIDER_APP_LOGIN_KNOWN_DEVICE_DAYS`` after the last sign-in; it counts
  only for the username of its device's user. A forged, expired or foreign cookie counts as none.
- Brute force stays throttled: each known device has its own counter with growing delays, and the
  attacker has none (the cookie is only set on a completed sign-in).
- A user signing in from a new browser while their account is attacked still waits for the
  account's lock; the lockout page points to the password reset."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from provider_app.app_settings import app_settings
from provider_app.models import KnownLoginDevice

COOKIE = "provider_app_device"
SALT = "provider_app.known_devices"
# A user's known devices kept at most (the least recently used go first).
PER_USER = 20


def _lifetime() -> timedelta:
    return timedelta(days=app_settings.LOGIN_KNOWN_DEVICE_DAYS)


def device_for(request: HttpRequest | None, username: str | None) -> KnownLoginDevice | None:
    """The known device of ``username`` that ``request``'s cookie names, or ``None``."""
    if request is None or not username or app_settings.LOGIN_KNOWN_DEVICE_DAYS <= 0:
        return None
    try:
        device_id = request.get_signed_cookie(COOKIE, salt=SALT, max_age=_lifetime())
    except (KeyError, signing.BadSignature, ValueError):
        return None
    device = KnownLoginDevice.objects.select_related("user").filter(pk=device_id).first()
    if device is None or device.user.get_username() != username or not device.user.is_active:
        return None
    if device.last_sign_in + _lifetime() < timezone.now():
        return None
    return device


def record_failure(device: KnownLoginDevice) -> None:
    KnownLoginDevice.objects.filter(pk=device.pk).update(
        failures=F("failures") + 1, last_failure=timezone.now()
    )


def remember(request: HttpRequest, response: HttpResponse, user) -> None:
    """After a completed sign-in: this browser is (again) a known device of ``user``, failures cleared."""
    if app_settings.LOGIN_KNOWN_DEVICE_DAYS <= 0:
        return
    now = timezone.now()
    device = device_for(request, user.get_username())
    if device is None:
        device = KnownLoginDevice.objects.create(user=user, last_sign_in=now)
        stale = (
            KnownLoginDevice.objects.filter(user=user).order_by("-last_sign_in").values_list("pk", flat=True)
        )
        KnownLoginDevice.objects.filter(pk__in=list(stale[PER_USER:])).delete()
    else:
        KnownLoginDevice.objects.filter(pk=device.pk).update(last_sign_in=now, failures=0, last_failure=None)
    response.set_signed_cookie(
        COOKIE,
        str(device.pk),
        salt=SALT,
        max_age=int(_lifetime().total_seconds()),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
