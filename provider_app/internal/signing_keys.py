"""Signing-key rotation without downtime (R11, OIDC Core 10.1.1).

The key that signs ID tokens and JWT access tokens, and the keys the JWKS publishes, come from
:class:`~provider_app.models.SigningKey` rows, and from the settings
(``OIDC_RSA_PRIVATE_KEY``, ``OIDC_RSA_PRIVATE_KEYS_INACTIVE``), which stay published. With no active
row, ``OIDC_RSA_PRIVATE_KEY`` signs, as in DOT. ``manage.py provider_app_signing_keys`` runs the
rotation, one step at a time:

1. ``add``: a new key is generated and *published* (in the JWKS, not signing).
2. ``activate KID``: it signs from now on; refused until it has been published for
   ``OIDC_JWKS_MAX_AGE_SECONDS`` (every verifier's cached JWKS has it by then; ``--force`` skips the
   wait). The key it replaces is *retired*: still published until every token it signed has expired
   (the longest token lifetime plus the JWKS age).
3. ``retire``: retired keys past that time leave the JWKS and the database.

Each process reads the keys at most every :data:`REFRESH_SECONDS` (and at once in the process that
changed them). Private keys are stored Fernet-encrypted with a key derived from ``SECRET_KEY`` (and
``SECRET_KEY_FALLBACKS``) (P16); the admin shows kid, state and dates only."""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from jwcrypto.jwk import JWK, JWKSet
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from provider_app.models import SigningKey

REFRESH_SECONDS = 10
ALGORITHM = "RS256"

logger = logging.getLogger(__name__)


def _fernet() -> MultiFernet:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    keys = []
    for secret in secrets:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"provider_app signing keys")
        keys.append(Fernet(base64.urlsafe_b64encode(hkdf.derive(secret.encode()))))
    return MultiFernet(keys)


@dataclass(frozen=True)
class Keys:
    signing: JWK  # private
    published: tuple[JWK, ...]  # private keys whose public parts the JWKS shows


_lock = threading.Lock()
_state: dict[str, tuple[float, Keys]] = {}


def current() -> Keys:
    """The signing key and the published keys, as this process last read them."""
    found = _state.get("keys")
    if found is not None and found[0] > time.monotonic():
        return found[1]
    with _lock:
        keys = _load()
        _state["keys"] = (time.monotonic() + REFRESH_SECONDS, keys)
        return keys


@sensitive_variables("fernet")
def _load() -> Keys:
    rows = list(
        SigningKey.objects.filter(
            Q(state__in=[SigningKey.PUBLISHED, SigningKey.ACTIVE])
            | Q(state=SigningKey.RETIRED, retire_after__gt=timezone.now())
        )
    )
    fernet = _fernet()
    loaded = {}
    for row in rows:
        try:
            loaded[row.kid] = (row, JWK.from_pem(fernet.decrypt(row.private_key.encode())))
        except (InvalidToken, ValueError):
            # SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS (run `reencrypt` first):
            # the key is neither used nor published, the others keep working.
            logger.critical(
                "signing key %s cannot be decrypted with SECRET_KEY(_FALLBACKS); skipped", row.kid
            )
    from_settings = [jwk_from_pem(pem) for pem in _settings_pems()]
    active = [key for row, key in loaded.values() if row.state == SigningKey.ACTIVE]
    if not active and not from_settings:
        raise ImproperlyConfigured("No signing key: set OIDC_RSA_PRIVATE_KEY or activate a key.")
    signing = active[0] if active else from_settings[0]
    published, seen = [], set()
    for key in [signing, *from_settings, *(key for _, key in loaded.values())]:
        if key.thumbprint() not in seen:
            seen.add(key.thumbprint())
            published.append(key)
    return Keys(signing=signing, published=tuple(published))


def _settings_pems() -> list[str]:
    return [
        p
        for p in [oauth2_settings.OIDC_RSA_PRIVATE_KEY, *oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE]
        if p
    ]


def forget() -> None:
    with _lock:
        _state.clear()


def signing_key() -> JWK:
    return current().signing


def public_keys() -> list[dict]:
    """The JWKS entries: the public part of every published key."""
    import json

    entries = []
    for key in current().published:
        entry = {"alg": ALGORITHM, "use": "sig", "kid": key.thumbprint()}
        entry.update(json.loads(key.export_public()))
        entries.append(entry)
    return entries


def verification_keys() -> JWKSet:
    """Every published key, public parts, with its kid: what verifies a token this provider signed."""
    keyset = JWKSet()
    for entry in public_keys():
        keyset.add(JWK(**entry))
    return keyset


# -- the rotation steps (the command) ---------------------------------------------------------------


def add(size: int = 2048) -> SigningKey:
    key = JWK.generate(kty="RSA", size=size)
    while key.thumbprint().startswith("-"):  # a kid that a command line would take for an option
        key = JWK.generate(kty="RSA", size=size)
    pem = key.export_to_pem(private_key=True, password=None)
    row = SigningKey.objects.create(kid=key.thumbprint(), private_key=_fernet().encrypt(pem).decode())
    forget()
    return row


def grace() -> timedelta:
    """How long a replaced key stays published: the longest token it signed, plus the JWKS age."""
    from provider_app.models import ResourceServer

    lifetimes = [
        oauth2_settings.ID_TOKEN_EXPIRE_SECONDS,
        oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS,
        *ResourceServer.objects.exclude(access_token_lifetime=None).values_list(
            "access_token_lifetime", flat=True
        ),
    ]
    longest = max(value for value in lifetimes if isinstance(value, int))
    # Other processes may sign with the old key for REFRESH_SECONDS after the activation.
    return timedelta(seconds=longest + oauth2_settings.OIDC_JWKS_MAX_AGE_SECONDS + REFRESH_SECONDS)


def publication_wait() -> timedelta:
    """How long a key is published before it may sign: the JWKS may be served stale for twice its
    max-age (DOT sends ``stale-while-revalidate``), and other processes publish it within
    REFRESH_SECONDS."""
    return timedelta(seconds=2 * oauth2_settings.OIDC_JWKS_MAX_AGE_SECONDS + REFRESH_SECONDS)


def activate(kid: str, *, force: bool = False) -> SigningKey:
    now = timezone.now()
    try:
        with transaction.atomic():
            list(SigningKey.objects.select_for_update().filter(state=SigningKey.ACTIVE))  # one at a time
            row = SigningKey.objects.select_for_update().get(kid=kid)
            if row.state != SigningKey.PUBLISHED:
                raise ValueError(f"The key {kid} is {row.state}, not published.")
            _fernet().decrypt(row.private_key.encode())  # raises InvalidToken: it could not sign
            if not force and now - row.created < publication_wait():
                raise ValueError(
                    f"The key has been published for less than {publication_wait()}: verifiers may "
                    "not have it yet (wait, or use --force)."
                )
            SigningKey.objects.filter(state=SigningKey.ACTIVE).update(
                state=SigningKey.RETIRED, retire_after=now + grace()
            )
            row.state, row.activated_at = SigningKey.ACTIVE, now
            row.save(update_fields=["state", "activated_at"])
    except InvalidToken:
        raise ValueError(f"The key {kid} cannot be decrypted with SECRET_KEY(_FALLBACKS).") from None
    except DatabaseError:
        raise ValueError("Another activation ran at the same time; try again.") from None
    forget()
    return row


def reencrypt() -> int:
    """Encrypt every stored key with the current SECRET_KEY (after moving the old one to the
    fallbacks); returns how many. A key no secret opens is left for an operator to delete."""
    fernet, count = _fernet(), 0
    for row in SigningKey.objects.all():
        try:
            rotated = fernet.rotate(row.private_key.encode()).decode()
        except InvalidToken:
            logger.error("signing key %s cannot be decrypted; left as it is", row.kid)
            continue
        SigningKey.objects.filter(pk=row.pk).update(private_key=rotated)
        count += 1
    forget()
    return count


def retire() -> int:
    """Delete retired keys whose tokens have all expired; returns how many."""
    deleted, _ = SigningKey.objects.filter(
        state=SigningKey.RETIRED, retire_after__lte=timezone.now()
    ).delete()
    forget()
    return deleted
