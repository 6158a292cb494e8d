"""provider_app's own settings, read lazily from Django settings (``PROVIDER_APP_*``).

``from provider_app.app_settings import app_settings`` then ``app_settings.REQUIRE_TWO_FACTOR``.
Every property reads ``django.conf.settings`` on access, so ``override_settings`` works in tests.
django-oauth-toolkit's own options stay in ``OAUTH2_PROVIDER`` (see :mod:`provider_app.conf`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings

T = TypeVar("T")


class Setting(Generic[T]):
    """One ``PROVIDER_APP_<NAME>`` setting with its default, read on every access (``override_settings``
    works) and passed through ``kind`` (``None``: as given)."""

    def __init__(self, kind: Callable[[Any], T] | None, default: Any) -> None:
        self.kind, self.default = kind, default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type) -> T:
        if instance is None:
            return self  # the class attribute, for introspection
        value = getattr(settings, owner.prefix + self.name, self.default)
        return self.kind(value) if self.kind is not None else value


# REFEDS assurance profiles, registered and widely understood acr values (OIDC Core 2, acr).
ACR_SINGLE_FACTOR = "https://refeds.org/profile/sfa"
ACR_MULTI_FACTOR = "https://refeds.org/profile/mfa"


class AppSettings:
    """Typed access to the ``PROVIDER_APP_*`` settings, each with its default."""

    prefix = "PROVIDER_APP_"

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(settings, self.prefix + name, default)

    #: Every authorization needs a second factor (users without a device are led to enrol).
    REQUIRE_TWO_FACTOR = Setting(bool, False)

    #: Seconds between the password step and the second-factor step before the login expires.
    TWO_FACTOR_LOGIN_TIMEOUT = Setting(int, 300)

    @property
    def TOTP_ENCRYPTION_KEYS(self) -> list[str]:
        """Fernet keys for TOTP seeds at rest, newest first; empty: derived from ``SECRET_KEY`` and
        ``SECRET_KEY_FALLBACKS`` (:mod:`provider_app.two_factor.seeds`)."""
        keys = self._setting("TOTP_ENCRYPTION_KEYS", [])
        return [k.strip() for k in keys.split(",")] if isinstance(keys, str) else list(keys)

    #: Seconds an authentication counts as recent for the two-factor self-service pages.
    TWO_FACTOR_RECENT_AUTHENTICATION = Setting(int, 600)

    @property
    def TWO_FACTOR_ISSUER(self) -> str:
        """The issuer label authenticator apps show next to the account (otpauth:// URI)."""
        return str(self._setting("TWO_FACTOR_ISSUER", "") or getattr(settings, "OTP_TOTP_ISSUER", "") or "")

    #: RP-initiated logout also revokes the tokens of the client whose ID token is the hint (never
    #: another client's, and only when the hint belongs to the user who confirmed).
    LOGOUT_REVOKES_CLIENT_TOKENS = Setting(bool, False)

    @property
    def DEFAULT_AUDIENCE(self) -> str:
        """The audience of a token requested without an RFC 8707 ``resource`` (RFC 9068 3); empty
        means the issuer (the provider's own API, ``/api/me`` and UserInfo)."""
        return str(self._setting("DEFAULT_AUDIENCE", "") or "")

    #: How many single-use recovery codes one enrolment (or regeneration) issues.
    RECOVERY_CODE_COUNT = Setting(int, 10)

    #: The ``acr`` value of a session authenticated with one factor (password).
    ACR_SINGLE_FACTOR = Setting(str, ACR_SINGLE_FACTOR)

    #: The ``acr`` value of a session authenticated with two factors; asking for it steps up.
    ACR_MULTI_FACTOR = Setting(str, ACR_MULTI_FACTOR)

    @property
    def ACR_MULTI_FACTOR_ALIASES(self) -> list[str]:
        """Other ``acr_values`` a client may send to ask for multi-factor (e.g. the PAPE URI)."""
        return list(
            self._setting(
                "ACR_MULTI_FACTOR_ALIASES",
                ["http://schemas.openid.net/pape/policies/2007/06/multi-factor"],
            )
        )

    # Security hardening (docs/security.md) ------------------------------------------------------

    #: How long the hash of a redeemed authorization code is kept to detect its replay (P5).
    REDEEMED_CODE_RETENTION_SECONDS = Setting(int, 24 * 3600)

    #: Failed sign-ins on one username before it waits (P20).
    LOGIN_ACCOUNT_FAILURE_LIMIT = Setting(int, 5)

    #: Failed sign-ins from one IP address (any username) before it waits (P20).
    LOGIN_IP_FAILURE_LIMIT = Setting(int, 20)

    #: The first wait once a limit is reached; it doubles with each further failure (P20).
    LOGIN_FIRST_DELAY_SECONDS = Setting(int, 60)

    #: The longest wait, so that nobody can lock a real user out for good (P20).
    LOGIN_MAX_DELAY_SECONDS = Setting(int, 15 * 60)

    #: Days a browser stays a known device for an account after a sign-in there (0: off, P20).
    LOGIN_KNOWN_DEVICE_DAYS = Setting(int, 180)

    #: Where the lockout page sends users who forgot their password ("" shows a hint instead).
    PASSWORD_RESET_URL = Setting(str, "")

    @property
    def TOKEN_CACHE(self) -> str | None:
        """Cache alias for bearer-token and client lookups; it must be shared by every worker."""
        return self._setting("TOKEN_CACHE", "default") or None

    @property
    def TOKEN_CACHE_IS_EXPLICIT(self) -> bool:
        """The project set ``PROVIDER_APP_TOKEN_CACHE`` (then it is used even in front of SQLite)."""
        return hasattr(settings, self.prefix + "TOKEN_CACHE")

    #: Seconds a cached token or client lives at most (revocation deletes it at once).
    TOKEN_CACHE_TTL = Setting(int, 300)

    @property
    def TOKEN_CACHE_RECHECK(self) -> float:
        """Seconds between two looks for invalidations that could not reach the cache (P23).

        A change whose invalidation failed waits this long before it is answered.
        """
        return float(self._setting("TOKEN_CACHE_RECHECK", 1.0))

    #: Use a process-local cache (LocMemCache) anyway: only for a single-process server.
    TOKEN_CACHE_ALLOW_LOCAL = Setting(bool, False)

    #: Keep validated tokens in each process too, invalidated by Redis pub/sub (Redis cache only).
    TOKEN_LOCAL_CACHE = Setting(bool, True)

    #: Tokens each process keeps at most (the oldest go first).
    TOKEN_LOCAL_CACHE_SIZE = Setting(int, 10_000)

    #: Seconds a token lives in a process at most (invalidation messages drop it at once).
    TOKEN_LOCAL_CACHE_TTL = Setting(float, 60)

    #: Seconds without a PONG on the invalidation channel after which local entries are not used.
    TOKEN_LOCAL_CACHE_LIVENESS = Setting(float, 2)

    @property
    def LOGOUT_TOKEN_LIFETIME_SECONDS(self) -> int:
        """Seconds between a logout token's ``iat`` and ``exp`` (OIDC BCL 2.4); each attempt signs anew."""
        return int(self._setting("LOGOUT_TOKEN_LIFETIME_SECONDS", 120))

    @property
    def SECURITY_EVENT_LIFETIME_SECONDS(self) -> int:
        """Seconds between a Security Event Token's ``iat`` and ``exp`` (E1); each attempt signs anew.
        Its retries last as long as the revoked token would have (E5)."""
        return int(self._setting("SECURITY_EVENT_LIFETIME_SECONDS", 120))

    @property
    def BACKCHANNEL_LOGOUT_RETRY_SECONDS(self) -> int:
        """How long an undelivered logout token is retried before it expires (the client's sessions
        should not outlive this)."""
        return int(self._setting("BACKCHANNEL_LOGOUT_RETRY_SECONDS", 24 * 3600))

    @property
    def DELIVERY_ALLOW_LOOPBACK(self) -> bool:
        """Back-channel logout and events URIs may be plain http on a loopback host (a client or a
        service on this machine). Default: only with ``DEBUG`` (the demo); in production the
        provider would otherwise POST to whatever listens locally for anyone who registers one."""
        return bool(self._setting("DELIVERY_ALLOW_LOOPBACK", settings.DEBUG))

    @property
    def DELIVERY_TIMEOUT_SECONDS(self) -> float:
        """Connect and read timeout of one delivery attempt (the worker's, never a request's)."""
        return float(self._setting("DELIVERY_TIMEOUT_SECONDS", 5))

    @property
    def DELIVERY_BACKOFF_SECONDS(self) -> float:
        """Delay after the first failed attempt; doubled after each further failure (L8, E5)."""
        return float(self._setting("DELIVERY_BACKOFF_SECONDS", 5))

    @property
    def DELIVERY_MAX_BACKOFF_SECONDS(self) -> float:
        """The longest delay between two attempts."""
        return float(self._setting("DELIVERY_MAX_BACKOFF_SECONDS", 3600))

    @property
    def DELIVERY_TASK_BACKEND(self) -> str:
        """The alias in ``TASKS`` that runs deliveries (Django's tasks framework)."""
        return str(self._setting("DELIVERY_TASK_BACKEND", "default"))


app_settings = AppSettings()
