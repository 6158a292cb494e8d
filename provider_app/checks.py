"""System checks that catch a provider_app misconfiguration before it reaches users."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

# DOT warns about "http" in ALLOWED_REDIRECT_URI_SCHEMES as a whole; provider_app enforces the finer
# rule itself (http only for loopback hosts, RFC 9700 2.6), so that warning is redundant.
SILENCED = ["oauth2_provider.W008"]


def _oauth2(name: str, default=None):
    return getattr(settings, "OAUTH2_PROVIDER", {}).get(name, default)


@checks.register(checks.Tags.security)
def check_signing_key(app_configs, **kwargs):
    if not _oauth2("OIDC_RSA_PRIVATE_KEY"):
        return [
            checks.Error(
                "No OpenID Connect signing key is configured.",
                hint='Set OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] to a PEM RSA private key (2048+ bits).',
                id="provider_app.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security)
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


@checks.register(checks.Tags.security, deploy=True)
def check_issuer_configured(app_configs, **kwargs):
    if _oauth2("OIDC_ISS_ENDPOINT", ""):
        return []
    return [
        checks.Warning(
            "The issuer URL is not configured: it is derived from each request's Host header.",
            hint='Set OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"], e.g. https://id.example.com/o.',
            id="provider_app.W001",
        )
    ]


@checks.register(checks.Tags.security)
def check_issuer_https(app_configs, **kwargs):
    issuer = _oauth2("OIDC_ISS_ENDPOINT", "")
    if settings.DEBUG or not issuer or urlsplit(issuer).scheme == "https":
        return []
    return [
        checks.Error(
            f"The issuer {issuer!r} is not an https URL.",
            hint="Outside DEBUG the issuer must use https (OIDC Discovery 3).",
            id="provider_app.E004",
        )
    ]


@checks.register(checks.Tags.security)
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


@checks.register(checks.Tags.security)
def check_refresh_token_rules(app_configs, **kwargs):
    if not (_oauth2("ROTATE_REFRESH_TOKEN", True) and _oauth2("REFRESH_TOKEN_REUSE_PROTECTION", False)):
        return [
            checks.Error(
                "Refresh tokens are not rotated with reuse protection.",
                hint="Set ROTATE_REFRESH_TOKEN and REFRESH_TOKEN_REUSE_PROTECTION to True (RFC 9700 4.14.2).",
                id="provider_app.E006",
            )
        ]
    return []


MIN_RSA_KEY_BITS = 2048


@checks.register(checks.Tags.security)
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
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_KEY_BITS:
        return []
    return [
        checks.Error(
            "The OpenID Connect signing key is not an unencrypted PEM RSA private key "
            f"of {MIN_RSA_KEY_BITS}+ bits.",
            hint="Generate one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
            id="provider_app.E007",
        )
    ]


@checks.register(checks.Tags.security)
def check_validator_class(app_configs, **kwargs):
    from django.utils.module_loading import import_string

    from provider_app.oauth2_validator import ProviderOAuth2Validator

    configured = _oauth2("OAUTH2_VALIDATOR_CLASS", "oauth2_provider.oauth2_validators.OAuth2Validator")
    try:
        validator_class = import_string(configured) if isinstance(configured, str) else configured
    except ImportError:
        validator_class = None
    if isinstance(validator_class, type) and issubclass(validator_class, ProviderOAuth2Validator):
        return []
    return [
        checks.Error(
            "OAUTH2_VALIDATOR_CLASS is not provider_app's validator: its protocol rules are not applied.",
            hint='Use "provider_app.oauth2_validator.ProviderOAuth2Validator" or a subclass of it.',
            id="provider_app.E008",
        )
    ]


MAX_AUTHORIZATION_CODE_SECONDS = 60


@checks.register(checks.Tags.security)
def check_authorization_code_lifetime(app_configs, **kwargs):
    lifetime = _oauth2("AUTHORIZATION_CODE_EXPIRE_SECONDS", 60)
    if isinstance(lifetime, int | float) and 0 < lifetime <= MAX_AUTHORIZATION_CODE_SECONDS:
        return []
    return [
        checks.Error(
            f"Authorization codes live {lifetime!r} seconds.",
            hint=f"Set AUTHORIZATION_CODE_EXPIRE_SECONDS to at most {MAX_AUTHORIZATION_CODE_SECONDS} "
            "(OAuth 2.1 4.1.2).",
            id="provider_app.E009",
        )
    ]


# DOT's RFC 9700 gates that provider_app relies on; REDIRECT_URI_SCHEME stays off on purpose (see conf).
REQUIRED_BCP_GATES = [
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT",
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT",
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT",
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE",
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING",
]


@checks.register(checks.Tags.security)
def check_bcp_gates(app_configs, **kwargs):
    off = [name for name in REQUIRED_BCP_GATES if not _oauth2(name, False)]
    if not off:
        return []
    return [
        checks.Error(
            f"RFC 9700 protections are switched off: {', '.join(off)}.",
            hint="Start from provider_app.conf.recommended_oauth2_provider_settings() and keep these True.",
            id="provider_app.E010",
        )
    ]
