"""RFC 7662: asking the provider about a token, with a short cache that never outlives the token.

The answer is cached under the SHA-256 of the token (never the token, R9) in the cache named by
``RESOURCE_APP_CACHE``, for at most ``RESOURCE_APP_INTROSPECTION_CACHE_SECONDS`` and never past the
token's ``exp``; an inactive answer is cached as briefly, so a flood of made-up tokens costs the
provider one call each at most per interval. A token is accepted only if the provider says
``active`` and its ``aud`` includes this service (R10), and ``iss``, when given, is the provider's.
A provider that cannot be reached decides nothing: 503 (R12).
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import caches
from django.views.decorators.debug import sensitive_variables

from resource_app.app_settings import app_settings
from resource_app.exceptions import InvalidToken, ProviderUnavailable
from resource_app.internal import http, metadata
from resource_app.tokens import ValidatedToken

logger = logging.getLogger("resource_app")

KEY_PREFIX = "resource_app:introspection:"
INACTIVE = "inactive"


@sensitive_variables("raw")
def validate(raw: str) -> ValidatedToken:
    # The issuer and this service's audience are part of the key: services sharing one cache never
    # see each other's answers (a token accepted by one is not thereby accepted by another).
    scope_of_answer = f"{app_settings.ISSUER}\n{app_settings.AUDIENCE}\n"
    key = KEY_PREFIX + hashlib.sha256((scope_of_answer + raw).encode("utf-8")).hexdigest()
    cached = _cache_get(key)
    if cached == INACTIVE:
        raise InvalidToken("The token is not active.")
    if isinstance(cached, dict) and float(cached.get("exp", 0)) > time.time() and _acceptable(cached):
        return ValidatedToken.from_claims(cached, mode="introspection")
    claims = _ask(raw)
    if claims is None:
        _cache_set(key, INACTIVE, app_settings.INTROSPECTION_CACHE_SECONDS)
        raise InvalidToken("The token is not active.")
    lifetime = min(app_settings.INTROSPECTION_CACHE_SECONDS, int(float(claims["exp"]) - time.time()))
    _cache_set(key, claims, lifetime)
    return ValidatedToken.from_claims(claims, mode="introspection")


@sensitive_variables("raw")
def _ask(raw: str) -> dict | None:
    """The active token's claims, or ``None`` when the provider says inactive or not ours."""
    url = app_settings.INTROSPECTION_ENDPOINT or metadata.endpoint("introspection_endpoint")
    answer = http.call(
        "POST",
        url,
        data={"token": raw, "token_type_hint": "access_token"},
        auth=(app_settings.CLIENT_ID, app_settings.CLIENT_SECRET),
    )
    if answer.status in (401, 403):
        raise ProviderUnavailable("The provider refused this service's client credentials.")
    body = answer.body
    if answer.status == 400 and isinstance(body, dict) and body.get("error") == "unsupported_token_type":
        # The provider will not vouch for this kind of token (oidc-provider answers so for its JWT
        # access tokens instead of RFC 7662 2.2's {"active": false}): a refusal, not an outage.
        return None
    if answer.status != 200 or not isinstance(body, dict):
        raise ProviderUnavailable(f"The provider's introspection answered HTTP {answer.status}.")
    return body if _acceptable(body) else None


def _acceptable(body: dict) -> bool:
    """An active token of this issuer, for this service, with a bounded lifetime (also on a cache hit)."""
    if body.get("active") is not True:  # RFC 7662 2.2: only a literal true
        return False
    if "iss" in body and body["iss"] != app_settings.ISSUER:
        return False
    audience = body.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or app_settings.AUDIENCE not in audiences:  # R10
        return False
    exp = body.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= time.time():
        return False  # without an expiry the answer cannot be bounded: refuse
    return "scope" not in body or isinstance(body["scope"], str)


def _cache_get(key: str):
    if app_settings.INTROSPECTION_CACHE_SECONDS <= 0:
        return None
    try:
        return caches[app_settings.CACHE].get(key)
    except Exception:  # a cache that fails means asking the provider, never accepting
        logger.warning("introspection cache read failed", exc_info=True)
        return None


def _cache_set(key: str, value, seconds: int) -> None:
    if seconds <= 0 or app_settings.INTROSPECTION_CACHE_SECONDS <= 0:
        return
    try:
        caches[app_settings.CACHE].set(key, value, timeout=seconds)
    except Exception:
        logger.warning("introspection cache write failed", exc_info=True)
