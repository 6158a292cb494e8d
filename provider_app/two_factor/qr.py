"""The enrolment QR code (segno, inline SVG: nothing loaded from elsewhere, P10) and the secret as text."""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import quote, urlencode

import segno
from django.utils.safestring import SafeString, mark_safe
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.app_settings import app_settings
from provider_app.two_factor.seeds import bin_key


def provisioning_uri(device: TOTPDevice) -> str:
    """The ``otpauth://totp/`` URI authenticator apps read (Key Uri Format), issuer from settings."""
    account = device.user.get_username()
    issuer = app_settings.TWO_FACTOR_ISSUER.replace(":", "")
    label = f"{issuer}:{account}" if issuer else account
    params = {
        "secret": b32encode(bin_key(device)).decode().rstrip("="),
        "algorithm": "SHA1",
        "digits": device.digits,
        "period": device.step,
    }
    if issuer:
        params["issuer"] = issuer
    return f"otpauth://totp/{quote(label)}?{urlencode(params, quote_via=quote)}"


def svg(device: TOTPDevice) -> SafeString:
    """The provisioning URI as an inline SVG QR code (segno output: no scripts, no external refs)."""
    code = segno.make(provisioning_uri(device), error="m")
    return mark_safe(code.svg_inline(scale=5, title="QR code for your authenticator app"))  # noqa: S308


def secret_text(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    secret = b32encode(bin_key(device)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
