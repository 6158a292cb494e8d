"""provider_app's own settings, read lazily from Django settings (``PROVIDER_APP_*``).

``from provider_app.app_settings import app_settings`` then ``app_settings.REQUIRE_TWO_FACTOR``.
Every property reads ``django.conf.settings`` on access, so ``override_settings`` works in tests.
django-oauth-toolkit's own options stay in ``OAUTH2_PROVIDER`` (see :mod:`provider_app.conf`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

# REFEDS assurance profiles, registered and widely understood acr values (OIDC Core 2, acr).
ACR_SINGLE_FACTOR = "https://refeds.org/profile/sfa"
ACR_MULTI_FACTOR = "https://refeds.org/profile/mfa"


class AppSettings:
    """Typed access to the ``PROVIDER_APP_*`` settings, each with its default."""

    prefix = "PROVIDER_APP_"

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(settings, self.prefix + name, default)

    @property
    def REQUIRE_TWO_FACTOR(self) -> bool:
        """Every authorization needs a second factor (users without a device are led to enrol)."""
        return bool(self._setting("REQUIRE_TWO_FACTOR", False))

    @property
    def TWO_FACTOR_LOGIN_TIMEOUT(self) -> int:
        """Seconds between the password step and the second-factor step before the login expires."""
        return int(self._setting("TWO_FACTOR_LOGIN_TIMEOUT", 300))

    @property
    def TOTP_ENCRYPTION_KEYS(self) -> list[str]:
        """Fernet keys for TOTP seeds at rest, newest first; empty: derived from ``SECRET_KEY`` and
        ``SECRET_KEY_FALLBACKS`` (:mod:`provider_app.two_factor.seeds`)."""
        keys = self._setting("TOTP_ENCRYPTION_KEYS", [])
        return [k.strip() for k in keys.split(",")] if isinstance(keys, str) else list(keys)

    @property
    def TWO_FACTOR_RECENT_AUTHENTICATION(self) -> int:
        """Seconds an authentication counts as recent for the two-factor self-service pages."""
        return int(self._setting("TWO_FACTOR_RECENT_AUTHENTICATION", 600))

    @property
    def TWO_FACTOR_ISSUER(self) -> str:
        """The issuer label authenticator apps show next to the account (otpauth:// URI)."""
        return str(self._setting("TWO_FACTOR_ISSUER", "") or getattr(settings, "OTP_TOTP_ISSUER", "") or "")

    @property
    def LOGOUT_REVOKES_CLIENT_TOKENS(self) -> bool:
        """RP-initiated logout also revokes the tokens of the client whose ID token is the hint
        (never another client's, and only when the hint belongs to the user who confirmed)."""
        return bool(self._setting("LOGOUT_REVOKES_CLIENT_TOKENS", False))

    @property
    def DEFAULT_AUDIENCE(self) -> str:
        """The audience of a token requested without an RFC 8707 ``resource`` (RFC 9068 3); empty
        means the issuer (the provider's own API, ``/api/me`` and UserInfo)."""
        return str(self._setting("DEFAULT_AUDIENCE", "") or "")

    @property
    def RECOVERY_CODE_COUNT(self) -> int:
        """How many single-use recovery codes one enrolment (or regeneration) issues."""
        return int(self._setting("RECOVERY_CODE_COUNT", 10))

    @property
    def ACR_SINGLE_FACTOR(self) -> str:
        """The ``acr`` value of a session authenticated with one factor (password)."""
        return str(self._setting("ACR_SINGLE_FACTOR", ACR_SINGLE_FACTOR))

    @property
    def ACR_MULTI_FACTOR(self) -> str:
        """The ``acr`` value of a session authenticated with two factors; asking for it steps up."""
        return str(self._setting("ACR_MULTI_FACTOR", ACR_MULTI_FACTOR))

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

    @property
    def REDEEMED_CODE_RETENTION_SECONDS(self) -> int:
        """How long the hash of a redeemed authorization code is kept to detect its replay (P5)."""
        return int(self._setting("REDEEMED_CODE_RETENTION_SECONDS", 24 * 3600))

    @property
    def LOGIN_ACCOUNT_FAILURE_LIMIT(self) -> int:
        """Failed sign-ins on one username before it waits (P20)."""
        return int(self._setting("LOGIN_ACCOUNT_FAILURE_LIMIT", 5))

    @property
    def LOGIN_IP_FAILURE_LIMIT(self) -> int:
        """Failed sign-ins from one IP address (any username) before it waits (P20)."""
        return int(self._setting("LOGIN_IP_FAILURE_LIMIT", 20))

    @property
    def LOGIN_FIRST_DELAY_SECONDS(self) -> int:
        """The first wait once a limit is reached; it doubles with each further failure (P20)."""
        return int(self._setting("LOGIN_FIRST_DELAY_SECONDS", 60))

    @property
    def LOGIN_MAX_DELAY_SECONDS(self) -> int:
        """The longest wait, so that nobody can lock a real user out for good (P20)."""
        return int(self._setting("LOGIN_MAX_DELAY_SECONDS", 15 * 60))

    @property
    def LOGIN_KNOWN_DEVICE_DAYS(self) -> int:
        """Days a browser stays a known device for an account after a sign-in there (0: off, P20)."""
        return int(self._setting("LOGIN_KNOWN_DEVICE_DAYS", 180))

    @property
    def PASSWORD_RESET_URL(self) -> str:
        """Where the lockout page sends users who forgot their password ("" shows a hint instead)."""
        return str(self._setting("PASSWORD_RESET_URL", ""))

    @property
    def TOKEN_CACHE(self) -> str | None:
        """Cache alias for bearer-token and client lookups; it must be shared by every worker."""
        return self._setting("TOKEN_CACHE", "default") or None

    @property
    def TOKEN_CACHE_IS_EXPLICIT(self) -> bool:
        """The project set ``PROVIDER_APP_TOKEN_CACHE`` (then it is used even in front of SQLite)."""
        return hasattr(settings, self.prefix + "TOKEN_CACHE")

    @property
    def TOKEN_CACHE_TTL(self) -> int:
        """Seconds a cached token or client lives at most (revocation deletes it at once)."""
        return int(self._setting("TOKEN_CACHE_TTL", 300))

    @property
    def TOKEN_CACHE_RECHECK(self) -> float:
        """Seconds between two looks for invalidations that could not reach the cache (P23).

        A change whose invalidation failed waits this long before it is answered.
        """
        return float(self._setting("TOKEN_CACHE_RECHECK", 1.0))

    @property
    def TOKEN_CACHE_ALLOW_LOCAL(self) -> bool:
        """Use a process-local cache (LocMemCache) anyway: only for a single-process server."""
        return bool(self._setting("TOKEN_CACHE_ALLOW_LOCAL", False))

    @property
    def TOKEN_LOCAL_CACHE(self) -> bool:
        """Keep validated tokens in each process too, invalidated by Redis pub/sub (Redis cache only)."""
        return bool(self._setting("TOKEN_LOCAL_CACHE", True))

    @property
    def TOKEN_LOCAL_CACHE_SIZE(self) -> int:
        """Tokens each process keeps at most (the oldest go first)."""
        return int(self._setting("TOKEN_LOCAL_CACHE_SIZE", 10_000))

    @property
    def TOKEN_LOCAL_CACHE_TTL(self) -> float:
        """Seconds a token lives in a process at most (invalidation messages drop it at once)."""
        return float(self._setting("TOKEN_LOCAL_CACHE_TTL", 60))

    @property
    def TOKEN_LOCAL_CACHE_LIVENESS(self) -> float:
        """Seconds without a PONG on the invalidation channel after which local entries are not used."""
        return float(self._setting("TOKEN_LOCAL_CACHE_LIVENESS", 2))

    @property
    def LOGOUT_TOKEN_LIFETIME_SECONDS(self) -> int:
        """Seconds between a logout token's ``iat`` and ``exp`` (OIDC BCL 2.4); each attempt signs anew."""
        return int(self._setting("LOGOUT_TOKEN_LIFETIME_SECONDS", 120))

    @property
    def BACKCHANNEL_LOGOUT_RETRY_SECONDS(self) -> int:
        """How long an undelivered logout token is retried before it expires (the client's sessions
        should not outlive this)."""
        return int(self._setting("BACKCHANNEL_LOGOUT_RETRY_SECONDS", 24 * 3600))

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
