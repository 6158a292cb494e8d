"""The provider's signing keys (R7): cached per process, refreshed on an unknown ``kid`` at most once per
cooldown, kept when a fetch fails, ``Cache-Control: max-age`` honoured between the minimum and the
maximum age (``RESOURCE_APP_JWKS_MIN_AGE`` / ``_MAX_AGE``)."""

from __future__ import annotations

import logging
import re
import threading
import time

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK, JWKSet

from resource_app.app_settings import app_settings
from resource_app.exceptions import ProviderUnavailable
from resource_app.internal import http, metadata

logger = logging.getLogger("resource_app")

_MAX_AGE = re.compile(r"max-age=(\d+)")


class KeyCache:
    """One process's copy of the key set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: JWKSet | None = None
        self._expires = float("-inf")
        self._last_forced = float("-inf")
        self._failed_at = float("-inf")

    def keys_for(self, kid: str | None) -> list[JWK]:
        """The keys that may have signed a token with this ``kid`` (all keys without one)."""
        now = time.monotonic()
        if self._keys is None or now >= self._expires:
            self._refresh(now, forced=False)
        found = self._match(kid)
        if not found and now - self._last_forced >= app_settings.JWKS_REFRESH_COOLDOWN:
            # OIDC Core 10.1.1: the provider may have rotated its keys; look once more.
            self._refresh(now, forced=True)
            found = self._match(kid)
        return found

    def _match(self, kid: str | None) -> list[JWK]:
        if self._keys is None:
            return []
        keys = list(self._keys["keys"])
        return [k for k in keys if kid is None or k.get("kid") == kid]

    def _refresh(self, now: float, *, forced: bool) -> None:
        with self._lock:
            if forced and now - self._last_forced < app_settings.JWKS_REFRESH_COOLDOWN:
                return
            if not forced and self._keys is not None and now < self._expires:
                return
            if forced:
                self._last_forced = now
            if self._keys is None and now - self._failed_at < app_settings.JWKS_REFRESH_COOLDOWN:
                # No keys yet and the last fetch failed a moment ago: do not hammer the provider.
                raise ProviderUnavailable("The provider's key set is not available yet.")
            try:
                keys, max_age = _fetch()
            except ProviderUnavailable:
                self._failed_at = now
                if self._keys is None:
                    raise
                # R7: keep the keys we have; try again after the cooldown.
                logger.warning("the provider's key set could not be fetched; keeping the cached keys")
                self._expires = now + app_settings.JWKS_REFRESH_COOLDOWN
                return
            self._keys = keys
            low, high = app_settings.JWKS_MIN_AGE, app_settings.JWKS_MAX_AGE
            self._expires = now + min(max(max_age if max_age is not None else high, low), high)

    def forget(self) -> None:
        with self._lock:
            self._keys, self._expires, self._last_forced = None, float("-inf"), float("-inf")
            self._failed_at = float("-inf")


def _fetch() -> tuple[JWKSet, int | None]:
    url = app_settings.JWKS_URI or metadata.endpoint("jwks_uri")
    answer = http.call("GET", url)
    if (
        answer.status != 200
        or not isinstance(answer.body, dict)
        or not isinstance(answer.body.get("keys"), list)
    ):
        raise ProviderUnavailable("The provider's key set is not usable.")
    keys = JWKSet()
    for value in answer.body["keys"]:
        try:
            key = JWK(**value) if isinstance(value, dict) else None
        except (JWException, ValueError, TypeError):
            continue  # a key we cannot read is skipped, not fatal (RFC 7517 5)
        if key is not None and not key.has_private and key.get("kty") in ("RSA", "EC", "OKP"):
            keys.add(key)
    match = _MAX_AGE.search(answer.headers.get("Cache-Control", "") or "")
    return keys, int(match.group(1)) if match else None


key_cache = KeyCache()
