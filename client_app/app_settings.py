"""client_app's settings: one typed object, read lazily so that ``override_settings`` works.

Every setting is optional except ``CLIENT_APP_ENCRYPTION_KEYS``; the defaults are the safe choice.
Use it as ``from client_app.app_settings import app_settings`` (allauth's pattern).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


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

    @property
    def ADAPTER(self) -> str:
        """Dotted path of the adapter class that decides sign-up, linking and user fields."""
        return self._setting("ADAPTER", "client_app.adapter.DefaultAdapter")

    @property
    def HTTP_TIMEOUT(self) -> float | tuple[float, float]:
        """Timeout in seconds (or a (connect, read) pair) of every call to a provider."""
        return self._setting("HTTP_TIMEOUT", (5.0, 10.0))

    @property
    def ALLOW_LOOPBACK_ENDPOINTS(self) -> bool:
        """Provider endpoints on this machine (http or https, loopback addresses) are allowed
        outside DEBUG too: a provider beside the site, tests (C13)."""
        return bool(self._setting("ALLOW_LOOPBACK_ENDPOINTS", False))

    @property
    def ALLOW_PRIVATE_ENDPOINTS(self) -> bool:
        """Provider endpoints may resolve to private or link-local addresses (a provider inside the
        company network); they stay https (C13)."""
        return bool(self._setting("ALLOW_PRIVATE_ENDPOINTS", False))

    @property
    def HTTP_DEADLINE(self) -> float:
        """Seconds one call to a provider may take in all, however slowly the answer trickles in
        (C14); the connect and read timeouts are capped by it."""
        return float(self._setting("HTTP_DEADLINE", 15.0))

    @property
    def HTTP_MAX_RESPONSE_BYTES(self) -> int:
        """The largest answer read from a provider (C14); a longer one is refused unread."""
        return int(self._setting("HTTP_MAX_RESPONSE_BYTES", 1024 * 1024))

    @property
    def METADATA_CACHE_SECONDS(self) -> int:
        """How long discovery documents and JWKS stay in Django's cache."""
        return int(self._setting("METADATA_CACHE_SECONDS", 3600))

    @property
    def CACHE_ALIAS(self) -> str:
        """The Django cache that holds discovery documents and JWKS."""
        return self._setting("CACHE_ALIAS", "default")

    @property
    def PENDING_LOGIN_SECONDS(self) -> int:
        """How long a started login may take before its state expires (C1)."""
        return int(self._setting("PENDING_LOGIN_SECONDS", 600))

    @property
    def CLOCK_SKEW_SECONDS(self) -> int:
        """Leeway for ``exp`` and ``iat`` of ID tokens (C5)."""
        return int(self._setting("CLOCK_SKEW_SECONDS", 60))

    @property
    def ID_TOKEN_MAX_AGE_SECONDS(self) -> int:
        """An ID token whose ``iat`` is older than this is refused (it should be brand new)."""
        return int(self._setting("ID_TOKEN_MAX_AGE_SECONDS", 600))

    @property
    def JWKS_REFRESH_COOLDOWN_SECONDS(self) -> int:
        """Seconds between two fetches of a provider's keys caused by an unknown ``kid``."""
        return int(self._setting("JWKS_REFRESH_COOLDOWN_SECONDS", 30))

    @property
    def LOGOUT_TOKEN_MAX_AGE_SECONDS(self) -> int:
        """How old (by ``iat``) a back-channel logout token may be when it arrives."""
        return int(self._setting("LOGOUT_TOKEN_MAX_AGE_SECONDS", 300))

    @property
    def LINK_BY_VERIFIED_EMAIL(self) -> bool:
        """Opt-in: link a first login to an existing user by e-mail, only if the provider is marked
        ``trust_email_verified`` and the claims say ``email_verified: true`` (C6)."""
        return bool(self._setting("LINK_BY_VERIFIED_EMAIL", False))

    @property
    def SIGNUP_ENABLED(self) -> bool:
        """Whether a first login may create a local user (the adapter may refuse more)."""
        return bool(self._setting("SIGNUP_ENABLED", True))

    @property
    def LOGIN_REDIRECT_URL(self) -> str:
        """Where a login ends when no safe ``next`` was given."""
        return self._setting("LOGIN_REDIRECT_URL", getattr(settings, "LOGIN_REDIRECT_URL", "/"))

    @property
    def LOGOUT_REDIRECT_URL(self) -> str | None:
        """Where a local logout ends (the app's logged-out page when None)."""
        return self._setting("LOGOUT_REDIRECT_URL", None)

    @property
    def AUTHENTICATION_BACKEND(self) -> str:
        """The backend recorded in the session for users logged in by client_app."""
        return self._setting("AUTHENTICATION_BACKEND", "django.contrib.auth.backends.ModelBackend")

    @property
    def TOKEN_REFRESH_MARGIN_SECONDS(self) -> int:
        """An access token this close to expiry is refreshed before use."""
        return int(self._setting("TOKEN_REFRESH_MARGIN_SECONDS", 30))

    @property
    def REFERRER_POLICY(self) -> str:
        """Referrer-Policy of client_app's pages; ``no-referrer`` would break CSRF (Origin: null)."""
        return self._setting("REFERRER_POLICY", "same-origin")

    @property
    def USER_AGENT(self) -> str:
        """User-Agent of the calls to providers."""
        return self._setting("USER_AGENT", "django-client-app/0.1")


app_settings = AppSettings()
