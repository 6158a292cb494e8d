"""Recovery codes: high-entropy, single-use, shown once, stored only as keyed SHA-256 digests (P16, P21).

A code is 16 characters from a 31-letter alphabet (79 bits), written in four groups of four. The
digest is an HMAC-SHA256 keyed with ``SECRET_KEY`` (``salted_hmac``), so a database dump alone
gives nothing to try offline; ``SECRET_KEY_FALLBACKS`` keep codes valid across a key rotation.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac

from provider_app.app_settings import app_settings

# No 0/o, 1/l/i: easy to read from paper and to type.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 16
GROUP = 4
_SALT = "provider_app.two_factor.recovery_code"


def generate_code() -> str:
    """One new recovery code, e.g. ``k7qd-2mfa-x9te-c4pw``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise(code: str) -> str:
    """What the user typed, without spaces, dashes or case."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def looks_like_recovery_code(code: str) -> bool:
    normalised = normalise(code)
    return len(normalised) == CODE_LENGTH and all(ch in ALPHABET for ch in normalised)


def digest(code: str, secret: str | None = None) -> str:
    """The stored form of ``code``: HMAC-SHA256 keyed with ``secret`` (default ``SECRET_KEY``)."""
    return salted_hmac(_SALT, normalise(code), secret=secret, algorithm="sha256").hexdigest()


def candidate_digests(code: str) -> list[str]:
    """The digests ``code`` may be stored under: current key first, then each fallback key."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [digest(code, key) for key in keys]


def issue_recovery_codes(user) -> list[str]:
    """Replace ``user``'s recovery codes with new ones and return them, in clear, this once."""
    from provider_app.two_factor.models import RecoveryCode, RecoveryCodeDevice

    codes = [generate_code() for _ in range(app_settings.RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        device, _created = RecoveryCodeDevice.objects.get_or_create(
            user=user, defaults={"name": "Recovery codes", "confirmed": True}
        )
        device.codes.all().delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(device=device, digest=digest(code)) for code in codes)
        device.throttle_reset(commit=True)
    return codes


def remaining_recovery_codes(user) -> int:
    from provider_app.two_factor.models import RecoveryCode

    return RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).count()
