"""client_app's settings: one typed object, read lazily so that ``override_settings`` works.

Every setting is optional except ``CLIENT_APP_ENCRYPTION_KEYS``; the defaults are the safe choice.
Use it as ``from client_app.app_settings import app_settings`` (allauth's pattern).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings

T = TypeVar("T")


class Setting(Generic[T]):
    """One ``CLIENT_APP_<NAME>`` setting with its default, read on every access (``override_settings``
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


class AppSettings:
    """The ``CLIENT_APP_*`` settings with their defaults."""

    prefix = "CLIENT_APP_"

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(settings, self.prefix + name, default)

    @property
    def ENCRYPTION_KEYS(self) -> list[str]:
        """Fernet keys (urlsafe base64, 32 bytes), newest first: the first encrypts, all decrypt."""
        keys = self._setting("ENCRYPTION_KEYS", [])
        if isinstance(keys, str):
            keys = [key.strip() for key in keys.split(",")]
        return [key for key in keys if key]

    #: Dotted path of the adapter class that decides sign-up, linking and user fields.
    ADAPTER = Setting(None, "client_app.adapter.DefaultAdapter")

    #: Timeout in seconds (or a (connect, read) pair) of every call to a provider.
    HTTP_TIMEOUT = Setting(None, (5.0, 10.0))

    #: Provider endpoints on this machine (http or https, loopback addresses) are allowed outside
    #: DEBUG too: a provider beside the site, tests (C13).
    ALLOW_LOOPBACK_ENDPOINTS = Setting(bool, False)

    #: Provider endpoints may resolve to private or link-local addresses (a provider inside the
    #: company network); they stay https (C13).
    ALLOW_PRIVATE_ENDPOINTS = Setting(bool, False)

    #: Seconds one call to a provider may take in all, however slowly the answer trickles in (C14);
    #: the connect and read timeouts are capped by it.
    HTTP_DEADLINE = Setting(float, 15.0)

    #: The largest answer read from a provider (C14); a longer one is refused unread.
    HTTP_MAX_RESPONSE_BYTES = Setting(int, 1024 * 1024)

    #: How long discovery documents and JWKS stay in Django's cache.
    METADATA_CACHE_SECONDS = Setting(int, 3600)

    #: The Django cache that holds discovery documents and JWKS.
    CACHE_ALIAS = Setting(None, "default")

    #: How long a started login may take before its state expires (C1).
    PENDING_LOGIN_SECONDS = Setting(int, 600)

    #: Leeway for ``exp`` and ``iat`` of ID tokens (C5).
    CLOCK_SKEW_SECONDS = Setting(int, 60)

    #: An ID token whose ``iat`` is older than this is refused (it should be brand new).
    ID_TOKEN_MAX_AGE_SECONDS = Setting(int, 600)

    #: Seconds between two fetches of a provider's keys caused by an unknown ``kid``.
    JWKS_REFRESH_COOLDOWN_SECONDS = Setting(int, 30)

    #: How old (by ``iat``) a back-channel logout token may be when it arrives.
    LOGOUT_TOKEN_MAX_AGE_SECONDS = Setting(int, 300)

    #: Opt-in: link a first login to an existing user by e-mail, only if the provider is marked
    #: ``trust_email_verified`` and the claims say ``email_verified: true`` (C6).
    LINK_BY_VERIFIED_EMAIL = Setting(bool, False)

    #: Whether a first login may create a local user (the adapter may refuse more).
    SIGNUP_ENABLED = Setting(bool, True)

    @property
    def LOGIN_REDIRECT_URL(self) -> str:
        """Where a login ends when no safe ``next`` was given."""
        return self._setting("LOGIN_REDIRECT_URL", getattr(settings, "LOGIN_REDIRECT_URL", "/"))

    #: Where a local logout ends (the app's logged-out page when None).
    LOGOUT_REDIRECT_URL = Setting(None, None)

    #: The backend recorded in the session for users logged in by client_app.
    AUTHENTICATION_BACKEND = Setting(None, "django.contrib.auth.backends.ModelBackend")

    #: An access token this close to expiry is refreshed before use.
    TOKEN_REFRESH_MARGIN_SECONDS = Setting(int, 30)

    #: Referrer-Policy of client_app's pages; ``no-referrer`` would break CSRF (Origin: null).
    REFERRER_POLICY = Setting(None, "same-origin")

    #: User-Agent of the calls to providers.
    USER_AGENT = Setting(None, "django-client-app/0.1")


app_settings = AppSettings()
