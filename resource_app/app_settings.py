"""Typed access to the ``RESOURCE_APP_*`` settings, each with its default (docs/resource-server.md).

A service names its provider (``ISSUER``), its own audience (``AUDIENCE``, the resource identifier
the provider puts in ``aud``) and how tokens are checked (``MODE``: ``"jwt"`` or ``"introspection"``).
Every other setting has a safe default.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

MODES = ("jwt", "introspection", "auto")


class AppSettings:
    prefix = "RESOURCE_APP_"

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(settings, self.prefix + name, default)

    @property
    def ISSUER(self) -> str:
        """The provider's issuer identifier, compared exactly with ``iss`` (RFC 9068 4)."""
        return str(self._setting("ISSUER", ""))

    @property
    def AUDIENCE(self) -> str:
        """This service's resource identifier: every accepted token has it in ``aud``."""
        return str(self._setting("AUDIENCE", ""))

    @property
    def MODE(self) -> str:
        """``"jwt"`` (validate locally against the provider's keys), ``"introspection"`` (RFC 7662), or
        ``"auto"`` (a token shaped like a JWS is validated locally, any other is introspected)."""
        return str(self._setting("MODE", "jwt"))

    @property
    def JWKS_URI(self) -> str:
        """The provider's key set; empty: ``jwks_uri`` from its discovery document."""
        return str(self._setting("JWKS_URI", ""))

    @property
    def INTROSPECTION_ENDPOINT(self) -> str:
        """The provider's RFC 7662 endpoint; empty: ``introspection_endpoint`` from discovery."""
        return str(self._setting("INTROSPECTION_ENDPOINT", ""))

    @property
    def CLIENT_ID(self) -> str:
        """This service's client at the provider (introspection authenticates with it)."""
        return str(self._setting("CLIENT_ID", ""))

    @property
    def CLIENT_SECRET(self) -> str:
        return str(self._setting("CLIENT_SECRET", ""))

    @property
    def ALGORITHMS(self) -> list[str]:
        """Signature algorithms accepted (asymmetric only; never ``none``, never HMAC)."""
        return list(self._setting("ALGORITHMS", ["RS256", "PS256", "ES256"]))

    @property
    def LEEWAY(self) -> int:
        """Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""
        return int(self._setting("LEEWAY", 30))

    @property
    def JWT_CACHE_SIZE(self) -> int:
        """JWT access tokens each process keeps verified until they expire (0: verify every time)."""
        return int(self._setting("JWT_CACHE_SIZE", 10_000))

    @property
    def JWKS_MIN_AGE(self) -> int:
        """Seconds the key set is kept at least, whatever ``Cache-Control`` says."""
        return int(self._setting("JWKS_MIN_AGE", 60))

    @property
    def JWKS_MAX_AGE(self) -> int:
        """Seconds the key set is kept at most before it is fetched again."""
        return int(self._setting("JWKS_MAX_AGE", 3600))

    @property
    def JWKS_REFRESH_COOLDOWN(self) -> int:
        """Seconds between two fetches caused by an unknown ``kid`` (a flood of forged kids costs one)."""
        return int(self._setting("JWKS_REFRESH_COOLDOWN", 30))

    @property
    def INTROSPECTION_CACHE_SECONDS(self) -> int:
        """Seconds an introspection answer is reused at most (never past the token's ``exp``); 0: off."""
        return int(self._setting("INTROSPECTION_CACHE_SECONDS", 30))

    @property
    def CACHE(self) -> str:
        """Cache alias for introspection answers (shared by the service's workers)."""
        return str(self._setting("CACHE", "default"))

    @property
    def HTTP_TIMEOUT(self) -> float:
        """Seconds per socket operation of a call to the provider."""
        return float(self._setting("HTTP_TIMEOUT", 5))

    @property
    def HTTP_DEADLINE(self) -> float:
        """Seconds a call to the provider may take in total, body included."""
        return float(self._setting("HTTP_DEADLINE", 10))

    @property
    def HTTP_MAX_RESPONSE_BYTES(self) -> int:
        """The largest answer read from the provider."""
        return int(self._setting("HTTP_MAX_RESPONSE_BYTES", 1024 * 1024))

    @property
    def TOKEN_ENDPOINT(self) -> str:
        """The provider's token endpoint, for calls to other services; empty: from discovery."""
        return str(self._setting("TOKEN_ENDPOINT", ""))

    @property
    def CALL_TOKEN_CACHE_SIZE(self) -> int:
        """Tokens for calls to other services each process keeps until shortly before they expire."""
        return int(self._setting("CALL_TOKEN_CACHE_SIZE", 1000))

    @property
    def CALL_TOKEN_MARGIN(self) -> int:
        """Seconds before its expiry a kept token is replaced (at most half its lifetime)."""
        return int(self._setting("CALL_TOKEN_MARGIN", 30))

    @property
    def CALL_DEADLINE(self) -> float:
        """Seconds a call to another service may take in total, body included (each socket
        operation also has ``HTTP_TIMEOUT``)."""
        return float(self._setting("CALL_DEADLINE", 10))

    @property
    def CALL_MAX_RESPONSE_BYTES(self) -> int:
        """The largest answer read from another service."""
        return int(self._setting("CALL_MAX_RESPONSE_BYTES", 10 * 1024 * 1024))

    @property
    def DENY_LIST(self) -> bool:
        """Check every accepted token against the deny-list written by revocation events (E3). Off
        only for a service that receives no events (it then needs no database table)."""
        return bool(self._setting("DENY_LIST", True))

    @property
    def DENY_LIST_SYNC_SECONDS(self) -> float:
        """Each worker reads the deny-list rows recorded since its last look at most this often."""
        return float(self._setting("DENY_LIST_SYNC_SECONDS", 0.5))

    @property
    def DENY_LIST_SECONDS(self) -> int:
        """How long an entry is kept: at least the longest access-token lifetime of this audience
        (a Security Event Token does not carry the revoked token's ``exp``)."""
        return int(self._setting("DENY_LIST_SECONDS", 86400))

    @property
    def EVENTS_MAX_AGE(self) -> int:
        """Seconds after its ``iat`` a Security Event Token is still accepted (the provider's
        retries must fit in it; older ones are refused as ``invalid_request``)."""
        return int(self._setting("EVENTS_MAX_AGE", 86400))

    @property
    def EVENTS_AUTHORIZATION(self) -> str:
        """Optional: a bearer value the provider must send with each event (``Authorization:
        Bearer ...``), on top of the event's signature; empty: the signature alone authenticates."""
        return str(self._setting("EVENTS_AUTHORIZATION", ""))

    @property
    def REALM(self) -> str:
        """The ``realm`` of RFC 6750 challenges."""
        return str(self._setting("REALM", "api"))


app_settings = AppSettings()
