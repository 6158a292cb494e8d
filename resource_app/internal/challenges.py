"""RFC 6750 3: the ``WWW-Authenticate`` challenge of a refused request."""

from __future__ import annotations

import re

from resource_app.app_settings import app_settings
from resource_app.exceptions import InsufficientScope, ProviderUnavailable, TokenRefused

# RFC 6750 3: error_description and scope use %x20-21 / %x23-5B / %x5D-7E only.
_NOT_ALLOWED = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _quoted(value: str) -> str:
    return '"' + _NOT_ALLOWED.sub("", value) + '"'


def challenge(refusal: TokenRefused | None = None) -> str:
    """The challenge for a refusal; without one (no token at all), the bare challenge (RFC 6750 3.1)."""
    parts = [f"realm={_quoted(app_settings.REALM)}"]
    if refusal is not None and not isinstance(refusal, ProviderUnavailable):
        parts.append(f"error={_quoted(refusal.error)}")
        parts.append(f"error_description={_quoted(refusal.description)}")
        if isinstance(refusal, InsufficientScope):
            parts.append(f"scope={_quoted(' '.join(sorted(refusal.scopes)))}")
    return "Bearer " + ", ".join(parts)


def body(refusal: TokenRefused) -> dict[str, str]:
    return {"error": refusal.error, "error_description": refusal.description}
