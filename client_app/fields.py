"""A text field encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``.

Keys come from ``CLIENT_APP_ENCRYPTION_KEYS``, newest first (:class:`~cryptography.fernet.MultiFernet`):
values are encrypted with the newest key and decrypted with any. ``manage.py client_app_rotate_keys``
re-encrypts every stored value with the newest key, after which old keys can be removed.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from client_app.app_settings import app_settings


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("Set CLIENT_APP_ENCRYPTION_KEYS (Fernet keys, newest first).")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def get_fernet() -> MultiFernet:
    """The MultiFernet built from the current settings (cached per key list)."""
    return _multi_fernet(tuple(app_settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return get_fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return get_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A client_app value cannot be decrypted with CLIENT_APP_ENCRYPTION_KEYS: was a key removed "
            "before client_app_rotate_keys ran?"
        )


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate keeps the original timestamp)."""
    return get_fernet().rotate(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """Stores ``str`` values Fernet-encrypted; the empty string stays empty (nothing to hide).

    Values cannot be searched or compared in the database: the ciphertext changes at every save.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
