"""Recommended django-oauth-toolkit configuration for projects that install provider_app.

``OAUTH2_PROVIDER = recommended_oauth2_provider_settings(OIDC_RSA_PRIVATE_KEY=..., ...)`` gives
DOT the posture RFC 9700 and OAuth 2.1 ask for; keyword arguments override single entries.
The system checks in :mod:`provider_app.checks` report a project that weakens the important ones.
"""

from __future__ import annotations

from typing import Any

SCOPES = {
    "openid": "Sign you in with your account (your user identifier)",
    "profile": "See your name and username",
    "email": "See your e-mail address",
    "offline_access": "Stay connected when you are not using the application",
    "introspection": "Check tokens presented to a resource server",
}


def recommended_oauth2_provider_settings(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "OAUTH2_VALIDATOR_CLASS": "provider_app.oauth2_validator.ProviderOAuth2Validator",
        # oauthlib's OpenID Connect server plus RFC 8693 token exchange (provider_app.W034 otherwise).
        "OAUTH2_SERVER_CLASS": "provider_app.views.token.Server",
        "SCOPES": SCOPES,
        "DEFAULT_SCOPES": ["openid"],
        "OIDC_ENABLED": True,
        "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
        "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
        "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": True,
        "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
        "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": False,
        # P27: DOT would delete the hint user's tokens at every client; provider_app's logout view
        # revokes none unless PROVIDER_APP_LOGOUT_REVOKES_CLIENT_TOKENS, and then one client's.
        "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
        # RFC 9700 2.1.1 / OAuth 2.1: PKCE for every client, S256 only.
        "PKCE_REQUIRED": True,
        # RFC 9700 4.2.4 / OAuth 2.1 4.1.2: short-lived authorization codes.
        "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
        "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
        # 256 random bits per token from one call (oauthlib's default: ~178 bits from 30 calls).
        # Random values, or an RFC 9068 JWT for a registered resource that wants one.
        "ACCESS_TOKEN_GENERATOR": "provider_app.internal.tokens.generate_access_token",
        "REFRESH_TOKEN_GENERATOR": "provider_app.internal.tokens.generate_token",
        "ID_TOKEN_EXPIRE_SECONDS": 3600,
        "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
        # RFC 9700 4.14.2: rotate refresh tokens, detect reuse and revoke the family.
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
        # High-entropy client secrets hashed with one SHA-256 (PBKDF2 protects low-entropy passwords).
        "CLIENT_SECRET_HASHER": "client_secret_sha256",
        "CLIENT_SECRET_GENERATOR_CLASS": "provider_app.internal.clients.ClientSecretGenerator",
        # The settings' scopes and those of registered resource servers (RFC 8707).
        "SCOPES_BACKEND_CLASS": "provider_app.internal.resources.ResourceServerScopes",
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
        "ALLOW_URI_WILDCARDS": False,
        "REQUEST_APPROVAL_PROMPT": "force",
        "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
        "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
        "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
        "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
        # http stays allowed for loopback redirect URIs (RFC 8252); provider_app refuses every other
        # http redirect URI itself (RFC 9700 2.6), so DOT's all-or-nothing gate stays off and its
        # warning oauth2_provider.W008 is silenced by provider_app.checks.SILENCED.
        "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,
        "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
        "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    }
    settings.update(overrides)
    return settings
