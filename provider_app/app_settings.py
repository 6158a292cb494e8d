"""provider_app's own settings, read lazily from Django settings (``PROVIDER_APP_*``).

``from provider_app.app_settings import app_settings`` then ``app_settings.REQUIRE_TWO_FACTOR``.
A setting is read from ``django.conf.settings`` on its first use and then kept on ``app_settings``
(as DRF's ``api_settings`` does), so a token request reads plain attributes; every
``setting_changed`` (``override_settings``, pytest-django's ``settings``) forgets the kept values
(:meth:`AppSettings.reload`, connected in :mod:`provider_app.apps`).
django-oauth-toolkit's own options stay in ``OAUTH2_PROVIDER`` (see :mod:`provider_app.conf`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings

T = TypeVar("T")


class Setting(Generic[T]):
    """One ``PROVIDER_APP_<NAME>`` setting with its default (a callable default is called when the
    setting is absent), passed through ``kind`` (``None``: as given).

    Read once, then kept in the instance's ``__dict__``, which shadows this (non-data) descriptor:
    later reads cost an attribute lookup. :meth:`AppSettings.reload` drops the kept values."""

    def __init__(self, kind: Callable[[Any], T] | None, default: Any) -> None:
        self.kind, self.default = kind, default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type) -> T:
        if instance is None:
            return self  # the class attribute, for introspection
        value = getattr(settings, owner.prefix + self.name, _ABSENT)
        if value is _ABSENT:
            value = self.default() if callable(self.default) else self.default
        value = self.kind(value) if self.kind is not None else value
        instance.__dict__[self.name] = value
        return value


_ABSENT = object()


def _string_list(value: Any) -> list[str]:
    """A list of strings, or one comma-separated string (an environment variable)."""
    return [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)


def _text(value: Any) -> str:
    return str(value or "")


# REFEDS assurance profiles, registered and widely understood acr values (OIDC Core 2, acr).
ACR_SINGLE_FACTOR = "https://refeds.org/profile/sfa"
ACR_MULTI_FACTOR = "https://refeds.org/profile/mfa"


class AppSettings:
    """Typed access to the ``PROVIDER_APP_*`` settings, each with its default."""

    prefix = "PROVIDER_APP_"

    def reload(self, **kwargs: Any) -> None:
        """Forget every kept value (a ``setting_changed`` receiver: settings changed in a test)."""
        self.__dict__.clear()

    #: Every authorization needs a second factor (users without a device are led to enrol).
    REQUIRE_TWO_FACTOR = Setting(bool, False)

    #: Seconds between the password step and the second-factor step before the login expires.
    TWO_FACTOR_LOGIN_TIMEOUT = Setting(int, 300)

    #: Fernet keys for TOTP seeds at rest, newest first (a list, or one comma-separated string);
    #: empty: derived from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` (:mod:`provider_app.two_factor.seeds`).
    TOTP_ENCRYPTION_KEYS = Setting(_string_list, [])

    #: Seconds an authentication counts as recent for the two-factor self-service pages.
    TWO_FACTOR_RECENT_AUTHENTICATION = Setting(int, 600)

    #: The issuer label authenticator apps show next to the account (otpauth:// URI); empty:
    #: django-otp's ``OTP_TOTP_ISSUER``.
    TWO_FACTOR_ISSUER = Setting(lambda value: _text(value or getattr(settings, "OTP_TOTP_ISSUER", "")), "")

    #: RP-initiated logout also revokes the tokens of the client whose ID token is the hint (never
    #: another client's, and only when the hint belongs to the user who confirmed).
    LOGOUT_REVOKES_CLIENT_TOKENS = Setting(bool, False)

    #: The audience of a token requested without an RFC 8707 ``resource`` (RFC 9068 3); empty means
    #: the issuer (the provider's own API, ``/api/me`` and UserInfo).
    DEFAULT_AUDIENCE = Setting(_text, "")

    #: How many single-use recovery codes one enrolment (or regeneration) issues.
    RECOVERY_CODE_COUNT = Setting(int, 10)

    #: The ``acr`` value of a session authenticated with one factor (password).
    ACR_SINGLE_FACTOR = Setting(str, ACR_SINGLE_FACTOR)

    #: The ``acr`` value of a session authenticated with two factors; asking for it steps up.
    ACR_MULTI_FACTOR = Setting(str, ACR_MULTI_FACTOR)

    #: Other ``acr_values`` a client may send to ask for multi-factor (e.g. the PAPE URI).
    ACR_MULTI_FACTOR_ALIASES = Setting(list, ["http://schemas.openid.net/pape/policies/2007/06/multi-factor"])

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

    #: Cache alias for bearer-token and client lookups; it must be shared by every worker.
    TOKEN_CACHE = Setting(lambda alias: alias or None, "default")

    @property
    def TOKEN_CACHE_IS_EXPLICIT(self) -> bool:
        """The project set ``PROVIDER_APP_TOKEN_CACHE`` (then it is used even in front of SQLite)."""
        return hasattr(settings, self.prefix + "TOKEN_CACHE")

    #: Seconds a cached token or client lives at most (revocation deletes it at once).
    TOKEN_CACHE_TTL = Setting(int, 300)

    #: Seconds between two looks for invalidations that could not reach the cache (P23). A change
    #: whose invalidation failed waits this long before it is answered.
    TOKEN_CACHE_RECHECK = Setting(float, 1.0)

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

    #: Seconds between a logout token's ``iat`` and ``exp`` (OIDC BCL 2.4); each attempt signs anew.
    LOGOUT_TOKEN_LIFETIME_SECONDS = Setting(int, 120)

    #: Seconds between a Security Event Token's ``iat`` and ``exp`` (E1); each attempt signs anew. Its
    #: retries last as long as the revoked token would have (E5).
    SECURITY_EVENT_LIFETIME_SECONDS = Setting(int, 120)

    #: How long an undelivered logout token is retried before it expires (the client's sessions should
    #: not outlive this).
    BACKCHANNEL_LOGOUT_RETRY_SECONDS = Setting(int, 24 * 3600)

    #: Back-channel logout and events URIs may be plain http on a loopback host (a client or a service
    #: on this machine). Default: only with ``DEBUG`` (the demo); in production the provider would
    #: otherwise POST to whatever listens locally for anyone who registers one.
    DELIVERY_ALLOW_LOOPBACK = Setting(bool, lambda: settings.DEBUG)

    #: Connect and read timeout of one delivery attempt (the worker's, never a request's).
    DELIVERY_TIMEOUT_SECONDS = Setting(float, 5)

    #: Delay after the first failed attempt; doubled after each further failure (L8, E5).
    DELIVERY_BACKOFF_SECONDS = Setting(float, 5)

    #: The longest delay between two attempts.
    DELIVERY_MAX_BACKOFF_SECONDS = Setting(float, 3600)

    #: The alias in ``TASKS`` that runs deliveries (Django's tasks framework).
    DELIVERY_TASK_BACKEND = Setting(str, "default")


app_settings = AppSettings()
