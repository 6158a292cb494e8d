"""The OpenID Connect claims provider_app releases about a user, by scope (OIDC Core 5.4)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser


def user_claims(user: AbstractBaseUser) -> dict[str, Any]:
    """Standard claims for ``user``; the validator releases each only with its scope."""
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    claims: dict[str, Any] = {
        "preferred_username": user.get_username(),
        "name": full_name or user.get_username(),
        "given_name": getattr(user, "first_name", "") or None,
        "family_name": getattr(user, "last_name", "") or None,
        "email": getattr(user, "email", "") or None,
    }
    if claims["email"]:
        # Django does not verify addresses: say so, so that clients never link accounts by it.
        claims["email_verified"] = False
    return {name: value for name, value in claims.items() if value is not None}


SUPPORTED_CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "preferred_username",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
]
