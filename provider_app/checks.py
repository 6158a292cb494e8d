"""System checks that catch a provider_app misconfiguration before it reaches users.

Every check of provider_app is here, registered by ``ProviderAppConfig.ready()``.

System checks that catch a provider_app misconfiguration before it reaches users.

System checks for the security hardening (docs/security.md): ids ``provider_app.W030``-``W033``.

System checks for two-factor (ids ``provider_app.E020``-``E029``), registered on import.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core import checks
from oauth2_provider.settings import oauth2_settings

# --------------------------------------------------------------------------------------------------
# System checks that catch a provider_app misconfiguration before it reaches users.
# --------------------------------------------------------------------------------------------------

# DOT warns about "http" in ALLOWED_REDIRECT_URI_SCHEMES as a whole; provider_app enforces the finer
# rule itself (http only for loopback hosts, RFC 9700 2.6), so that warning is redundant.
SILENCED = ["oauth2_provider.W008"]


def _oauth2(name: str, default=None):
    return getattr(settings, "OAUTH2_PROVIDER", {}).get(name, default)


def _unless(ok, problem: checks.CheckMessage) -> list[checks.CheckMessage]:
    """A check's answer: nothing when ``ok``, else ``problem``."""
    return [] if ok else [problem]


def check_signing_key(app_configs, **kwargs):
    return _unless(
        _oauth2("OIDC_RSA_PRIVATE_KEY"),
        checks.Error(
            "No OpenID Connect signing key is configured.",
            hint='Set OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] to a PEM RSA private key (2048+ bits).',
            id="provider_app.E001",
        ),
    )


def check_pkce(app_configs, **kwargs):
    errors = []
    if _oauth2("PKCE_REQUIRED", True) is not True:
        errors.append(
            checks.Error(
                "PKCE is not required for every client.",
                hint='Set OAUTH2_PROVIDER["PKCE_REQUIRED"] = True (RFC 9700 2.1.1).',
                id="provider_app.E002",
            )
        )
    if not _oauth2("COMPLIANT_BCP_RFC9700_PKCE_METHOD", False):
        errors.append(
            checks.Error(
                'The "plain" PKCE method is accepted.',
                hint='Set OAUTH2_PROVIDER["COMPLIANT_BCP_RFC9700_PKCE_METHOD"] = True: S256 only.',
                id="provider_app.E003",
            )
        )
    return errors


def check_issuer_configured(app_configs, **kwargs):
    return _unless(
        _oauth2("OIDC_ISS_ENDPOINT", ""),
        checks.Warning(
            "The issuer URL is not configured: it is derived from each request's Host header.",
            hint='Set OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"], e.g. https://id.example.com/o.',
            id="provider_app.W001",
        ),
    )


def check_issuer_https(app_configs, **kwargs):
    issuer = _oauth2("OIDC_ISS_ENDPOINT", "")
    return _unless(
        settings.DEBUG or not issuer or urlsplit(issuer).scheme == "https",
        checks.Error(
            f"The issuer {issuer!r} is not an https URL.",
            hint="Outside DEBUG the issuer must use https (OIDC Discovery 3).",
            id="provider_app.E004",
        ),
    )


def check_client_secret_hasher(app_configs, **kwargs):
    hasher = _oauth2("CLIENT_SECRET_HASHER", "default")
    if hasher == "client_secret_sha256" and "provider_app.hashers.ClientSecretSHA256Hasher" not in getattr(
        settings, "PASSWORD_HASHERS", []
    ):
        return [
            checks.Error(
                "CLIENT_SECRET_HASHER is client_secret_sha256 but its hasher is not installed.",
                hint='Append "provider_app.hashers.ClientSecretSHA256Hasher" to PASSWORD_HASHERS.',
                id="provider_app.E005",
            )
        ]
    return []


def check_refresh_token_rules(app_configs, **kwargs):
    return _unless(
        _oauth2("ROTATE_REFRESH_TOKEN", True) and _oauth2("REFRESH_TOKEN_REUSE_PROTECTION", False),
        checks.Error(
            "Refresh tokens are not rotated with reuse protection.",
            hint="Set ROTATE_REFRESH_TOKEN and REFRESH_TOKEN_REUSE_PROTECTION to True (RFC 9700 4.14.2).",
            id="provider_app.E006",
        ),
    )


MIN_RSA_KEY_BITS = 2048


def check_signing_key_strength(app_configs, **kwargs):
    pem = _oauth2("OIDC_RSA_PRIVATE_KEY")
    if not pem:
        return []  # provider_app.E001
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    except (ValueError, TypeError):
        key = None
    return _unless(
        isinstance(key, rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_KEY_BITS,
        checks.Error(
            "The OpenID Connect signing key is not an unencrypted PEM RSA private key "
            f"of {MIN_RSA_KEY_BITS}+ bits.",
            hint="Generate one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
            id="provider_app.E007",
        ),
    )


def check_validator_class(app_configs, **kwargs):
    from django.utils.module_loading import import_string

    from provider_app.oauth2_validator import ProviderOAuth2Validator

    configured = _oauth2("OAUTH2_VALIDATOR_CLASS", "oauth2_provider.oauth2_validators.OAuth2Validator")
    try:
        validator_class = import_string(configured) if isinstance(configured, str) else configured
    except ImportError:
        validator_class = None
    return _unless(
        isinstance(validator_class, type) and issubclass(validator_class, ProviderOAuth2Validator),
        checks.Error(
            "OAUTH2_VALIDATOR_CLASS is not provider_app's validator: its protocol rules are not applied.",
            hint='Use "provider_app.oauth2_validator.ProviderOAuth2Validator" or a subclass of it. Do not '
            "silence this error: provider_app's token generator and authorization view call the "
            "validator's RFC 8707 methods, and fail without them.",
            id="provider_app.E008",
        ),
    )


MAX_AUTHORIZATION_CODE_SECONDS = 60


def check_authorization_code_lifetime(app_configs, **kwargs):
    lifetime = _oauth2("AUTHORIZATION_CODE_EXPIRE_SECONDS", 60)
    return _unless(
        isinstance(lifetime, int | float) and 0 < lifetime <= MAX_AUTHORIZATION_CODE_SECONDS,
        checks.Error(
            f"Authorization codes live {lifetime!r} seconds.",
            hint=f"Set AUTHORIZATION_CODE_EXPIRE_SECONDS to at most {MAX_AUTHORIZATION_CODE_SECONDS} "
            "(OAuth 2.1 4.1.2).",
            id="provider_app.E009",
        ),
    )


# DOT's RFC 9700 gates that provider_app relies on; REDIRECT_URI_SCHEME stays off on purpose (see conf).
REQUIRED_BCP_GATES = [
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT",
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT",
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT",
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE",
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING",
]


def check_bcp_gates(app_configs, **kwargs):
    off = [name for name in REQUIRED_BCP_GATES if not _oauth2(name, False)]
    return _unless(
        not off,
        checks.Error(
            f"RFC 9700 protections are switched off: {', '.join(off)}.",
            hint="Start from provider_app.conf.recommended_oauth2_provider_settings() and keep these True.",
            id="provider_app.E010",
        ),
    )


# --------------------------------------------------------------------------------------------------
# System checks for the security hardening (docs/security.md): ids ``provider_app.W030``-``W033``.
# --------------------------------------------------------------------------------------------------

AXES_BACKEND = "axes.backends.AxesStandaloneBackend"
AXES_MIDDLEWARE = "axes.middleware.AxesMiddleware"


def check_login_throttling(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """P20: sign-in is throttled only when django-axes is installed, first backend and middleware."""
    installed = "axes" in settings.INSTALLED_APPS or "axes.apps.AppConfig" in settings.INSTALLED_APPS
    backends = list(getattr(settings, "AUTHENTICATION_BACKENDS", []))
    return _unless(
        installed and backends[:1] == [AXES_BACKEND] and AXES_MIDDLEWARE in settings.MIDDLEWARE,
        checks.Warning(
            "Sign-in is not throttled: django-axes is not fully configured.",
            hint=(
                f'Add "axes" to INSTALLED_APPS, put "{AXES_BACKEND}" first in AUTHENTICATION_BACKENDS and '
                f'"{AXES_MIDDLEWARE}" last in MIDDLEWARE (docs/security.md, Login throttling).'
            ),
            id="provider_app.W030",
        ),
    )


def check_axes_handler(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """P20: the growing per-account and per-IP delays come from provider_app's axes handler."""
    handler = getattr(settings, "AXES_HANDLER", "")
    if (
        "axes" not in settings.INSTALLED_APPS
        or handler == "provider_app.throttling.ProgressiveLockoutHandler"
    ):
        return []
    return [
        checks.Warning(
            "django-axes does not use provider_app's handler: no per-IP limit, no growing delays.",
            hint='Set AXES_HANDLER = "provider_app.throttling.ProgressiveLockoutHandler" (docs/security.md).',
            id="provider_app.W031",
        )
    ]


def check_refresh_grace_period(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """P8: provider_app treats every second use of a refresh token as reuse; a grace period is moot."""
    return _unless(
        not oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS,
        checks.Warning(
            "REFRESH_TOKEN_GRACE_PERIOD_SECONDS has no effect: a refresh token used twice revokes its "
            "family.",
            hint="Set it to 0 (tokens are stored hashed; a retry cannot be answered with the same pair).",
            id="provider_app.W032",
        ),
    )


def check_token_cache_backend(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """P23: the token cache is used only where it can fail closed (Redis, or one local process)."""
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache
    from django.core.cache.backends.redis import RedisCache
    from django.utils.module_loading import import_string

    from provider_app.app_settings import app_settings

    alias = app_settings.TOKEN_CACHE
    if not alias or alias not in settings.CACHES:
        return []
    backend = settings.CACHES[alias].get("BACKEND", "")
    try:
        backend_class = import_string(backend)
    except ImportError:
        return []
    return _unless(
        issubclass(
            backend_class, RedisCache | DummyCache | LocMemCache
        ),  # used; off (dummy); process-local: used only with TOKEN_CACHE_ALLOW_LOCAL
        checks.Warning(
            f"PROVIDER_APP_TOKEN_CACHE names the cache {alias!r} ({backend}), which the token cache "
            "does not use: it cannot fail closed there.",
            hint=(
                "Point it at Django's RedisCache, or set PROVIDER_APP_TOKEN_CACHE = None "
                "(docs/security.md, Shared cache)."
            ),
            id="provider_app.W033",
        ),
    )


# --------------------------------------------------------------------------------------------------
# Token exchange (RFC 8693): ``provider_app.W034``.
# --------------------------------------------------------------------------------------------------


def check_token_exchange_server(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """X1: discovery lists the token exchange grant; the server class must offer it."""
    from provider_app.views.token import Server

    server_class = oauth2_settings.OAUTH2_SERVER_CLASS
    return _unless(
        isinstance(server_class, type) and issubclass(server_class, Server),
        checks.Warning(
            "OAUTH2_SERVER_CLASS does not offer RFC 8693 token exchange, which discovery lists.",
            hint=(
                'Set OAUTH2_PROVIDER["OAUTH2_SERVER_CLASS"] to "provider_app.views.token.Server" '
                "or a subclass (provider_app.conf.recommended_oauth2_provider_settings does)."
            ),
            id="provider_app.W034",
        ),
    )


# --------------------------------------------------------------------------------------------------
# System checks for two-factor (ids ``provider_app.E020``-``E029``), registered on import.
# --------------------------------------------------------------------------------------------------

OTP_MIDDLEWARE = "django_otp.middleware.OTPMiddleware"


def check_two_factor_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    errors = [
        checks.Error(
            f"{app} is not installed; provider_app's two-factor needs it.",
            hint=f'Add "{app}" to INSTALLED_APPS.',
            id="provider_app.E020",
        )
        for app in ("django_otp", "django_otp.plugins.otp_totp")
        if not apps.is_installed(app)
    ]
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
    if OTP_MIDDLEWARE not in middleware or (
        auth in middleware and middleware.index(OTP_MIDDLEWARE) < middleware.index(auth)
    ):
        errors.append(
            checks.Error(
                "django-otp's OTPMiddleware is missing or comes before AuthenticationMiddleware.",
                hint=f'Add "{OTP_MIDDLEWARE}" to MIDDLEWARE right after AuthenticationMiddleware: without it '
                "no session counts as verified and the two-factor admin site refuses everyone.",
                id="provider_app.E021",
            )
        )
    return errors


def check_delivery_task_backend(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """L7: logout tokens are sent by a worker, never in the request that ended the session."""
    from provider_app.app_settings import app_settings

    tasks = getattr(settings, "TASKS", None) or {}
    backend = str(tasks.get(app_settings.DELIVERY_TASK_BACKEND, {}).get("BACKEND", "ImmediateBackend"))
    return _unless(
        not backend.endswith("ImmediateBackend"),
        checks.Warning(
            "The outbox's task backend runs tasks at once: logout tokens would be sent in the request "
            "that ended the session, so provider_app does not hand them to it.",
            hint='Set TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}} and run '
            "`manage.py db_worker` (or another queue's backend), or run `manage.py provider_app_deliver` "
            "from cron (docs/operations.md).",
            id="provider_app.W040",
        ),
    )


#: Every check of provider_app, registered by ``ProviderAppConfig.ready()`` with the security tag.
SECURITY_CHECKS = [
    check_signing_key,
    check_pkce,
    check_issuer_https,
    check_client_secret_hasher,
    check_refresh_token_rules,
    check_signing_key_strength,
    check_validator_class,
    check_authorization_code_lifetime,
    check_bcp_gates,
    check_login_throttling,
    check_axes_handler,
    check_refresh_grace_period,
    check_token_exchange_server,
    check_token_cache_backend,
    check_two_factor_installed,
    check_delivery_task_backend,
]
#: Checks run by ``manage.py check --deploy`` only.
DEPLOY_CHECKS = [check_issuer_configured]
