"""TOTP seeds encrypted at rest (P28): a database dump alone yields no usable seed.

django-otp keeps a device's seed in clear in ``TOTPDevice.key``. provider_app moves it, whenever a
device is saved, into :class:`~provider_app.two_factor.models.TOTPSeed` encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``) and leaves :data:`SEALED` in ``key``: not hex, so
django-otp's own ``TOTPDevice.bin_key`` raises on it and no code path can verify a code against a
value read from the dump. Verification goes through the proxy
:class:`~provider_app.two_factor.models.EncryptedTOTPDevice`, whose ``bin_key`` is :func:`bin_key`.

Keys (:class:`~cryptography.fernet.MultiFernet`, newest first): ``PROVIDER_APP_TOTP_ENCRYPTION_KEYS``,
or, unset, keys derived (HKDF-SHA256) from ``SECRET_KEY`` and then each of ``SECRET_KEY_FALLBACKS``.
Seeds are encrypted with the first and decrypted with any; ``manage.py provider_app_rotate_totp_keys``
re-encrypts every seed with the first, after which the old key can be removed. ``QuerySet.update()``
of ``key`` bypasses the signals: run the command afterwards.
"""

from __future__ import annotations

import base64
from binascii import unhexlify
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from provider_app.app_settings import app_settings

SEALED = "sealed-see-provider_app.TOTPSeed"
_HKDF_INFO = b"provider_app.two_factor TOTP seeds"


def _derived_key(secret: str) -> str:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode())).decode()


def keys() -> tuple[str, ...]:
    """The Fernet keys in use, newest first."""
    configured = app_settings.TOTP_ENCRYPTION_KEYS
    if configured:
        return tuple(configured)
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return tuple(_derived_key(secret) for secret in secrets)


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("Set SECRET_KEY or PROVIDER_APP_TOTP_ENCRYPTION_KEYS (TOTP seeds).")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def seal(hex_seed: str) -> str:
    return _multi_fernet(keys()).encrypt(hex_seed.encode()).decode()


def unseal(ciphertext: str) -> str:
    try:
        return _multi_fernet(keys()).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A TOTP seed cannot be decrypted with the current keys: was a key (or SECRET_KEY) removed "
            "before provider_app_rotate_totp_keys ran? Put it back in PROVIDER_APP_TOTP_ENCRYPTION_KEYS "
            "(or SECRET_KEY_FALLBACKS)."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key."""
    return _multi_fernet(keys()).rotate(ciphertext.encode()).decode()


def bin_key(device) -> bytes:
    """The device's seed as bytes (what django-otp's ``bin_key`` gives for a device in clear)."""
    from provider_app.two_factor.models import TOTPSeed

    if device.key != SEALED:  # not saved yet
        return unhexlify(device.key.encode())
    cached = device.__dict__.get("_seed_hex")
    if cached is None:
        row = TOTPSeed.objects.filter(device_id=device.pk).values_list("ciphertext", flat=True).first()
        if row is None:
            raise ImproperlyConfigured(f"TOTP device {device.pk} has no seed: it cannot verify codes.")
        cached = device.__dict__["_seed_hex"] = unseal(row)
    return unhexlify(cached.encode())


def seal_before_save(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    """pre_save: a seed in clear goes to :func:`store_after_save`; the row keeps :data:`SEALED`."""
    if update_fields is not None and "key" not in update_fields:
        return
    if instance.key and instance.key != SEALED:
        instance.__dict__["_seed_to_store"] = instance.key
        instance.__dict__["_seed_hex"] = instance.key
        instance.key = SEALED


def store_after_save(sender, instance, raw: bool = False, **kwargs) -> None:
    """post_save: the seed set aside by :func:`seal_before_save`, encrypted, in ``TOTPSeed``."""
    from provider_app.two_factor.models import TOTPSeed

    hex_seed = instance.__dict__.pop("_seed_to_store", None)
    if hex_seed is not None:
        TOTPSeed.objects.update_or_create(device_id=instance.pk, defaults={"ciphertext": seal(hex_seed)})
