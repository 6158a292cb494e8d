"""RFC 9068 4: validating a JWT access token locally; each check cites the rule it enforces.

The algorithm comes from the allow-list (asymmetric only), never from the token alone: ``none``
and the HMAC family are refused before any key is touched, and the key type must fit the
algorithm. Any failure is ``invalid_token`` (R6); an ID token or any JWT without
``typ: at+jwt`` is refused (R5).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jws import JWS

from resource_app.app_settings import app_settings
from resource_app.exceptions import InvalidToken
from resource_app.internal.jwks import key_cache
from resource_app.tokens import ValidatedToken

ASYMMETRIC = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}  # fmt: skip
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
# RFC 9068 2.1 / 4: "at+jwt", also written with the media type prefix; compared case-insensitively.
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}


def validate(raw: str) -> ValidatedToken:
    key = _cache_key(raw)
    cached = _verified.get(key)
    if cached is not None:
        return cached
    token = _validate(raw)
    _verified.put(key, token)
    return token


def _cache_key(raw: str) -> str:
    # What the decision depended on besides the token: the issuer, this service, the algorithms.
    context = f"{app_settings.ISSUER}\n{app_settings.AUDIENCE}\n{app_settings.ALGORITHMS}\n"
    return hashlib.sha256((context + raw).encode("utf-8")).hexdigest()


class VerifiedTokens:
    """Tokens this process has verified, by digest, until they expire (RFC 9068 4 again on a miss).

    Verifying an RS256 signature costs about as much as the rest of the request; a service sees
    the same token many times. Bounded (``RESOURCE_APP_JWT_CACHE_SIZE``, oldest out first; 0: off).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, ValidatedToken] = OrderedDict()

    def get(self, key: str) -> ValidatedToken | None:
        with self._lock:
            token = self._entries.get(key)
            if token is None:
                return None
            if token.expires_at + app_settings.LEEWAY <= time.time():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return token

    def put(self, key: str, token: ValidatedToken) -> None:
        size = app_settings.JWT_CACHE_SIZE
        if size <= 0:
            return
        with self._lock:
            self._entries[key] = token
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()


_verified = VerifiedTokens()


def _validate(raw: str) -> ValidatedToken:
    # RFC 9068 4 step 1 (R5): typed at+jwt, so an ID token is never taken for an access token.
    claims = verified_claims(raw, ACCESS_TOKEN_TYPES, "The token is not a JWT access token.")
    _check_claims(claims)
    return ValidatedToken.from_claims(claims, mode="jwt")


class WrongType(InvalidToken):
    """The JWT's ``typ`` is not the one expected (RFC 8725 3.11: explicit typing)."""


class KeyNotAccepted(InvalidToken):
    """The algorithm is not on the allow-list, or no key of the provider fits the header."""


class SignatureInvalid(InvalidToken):
    """No key of the provider verifies the signature."""


def verified_claims(raw: str, types: set[str], wrong_type: str) -> dict[str, Any]:
    """The claims of a compact JWS of one of ``types`` signed by the provider, with an algorithm of
    the allow-list (asymmetric only); the claims themselves are the caller's to check. Used for
    access tokens here and for Security Event Tokens (:mod:`resource_app.internal.security_events`)."""
    header = _header(raw)
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in types:  # media types: case-insensitive
        raise WrongType(wrong_type)
    alg = header.get("alg")
    allowed = [a for a in app_settings.ALGORITHMS if a in ASYMMETRIC]
    if not isinstance(alg, str) or alg not in allowed:  # RFC 9068 4 step 4, RFC 8725 3.1 (R6)
        raise KeyNotAccepted("The token is signed with an algorithm this service does not accept.")
    kid = header.get("kid")
    keys = [k for k in key_cache.keys_for(kid if isinstance(kid, str) else None) if _fits(k, alg)]
    if not keys:
        raise KeyNotAccepted("No key of the provider matches the token.")
    return _verified_claims(raw, alg, keys)


def looks_like_jwt(raw: str) -> bool:
    """Auto mode: three base64url parts whose first decodes to a JSON object (a JWS header)."""
    try:
        _header(raw)
    except InvalidToken:
        return False
    return True


def _header(raw: str) -> dict[str, Any]:
    # Compact JWS only (RFC 7519 7.2): three base64url parts; never JWE, never JSON serialization.
    if raw.count(".") != 2:
        raise InvalidToken("The token is not a signed JWT.")
    part = raw.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError):
        raise InvalidToken("The token's header is malformed.") from None
    if not isinstance(header, dict):
        raise InvalidToken("The token's header is malformed.")
    return header


def _fits(key, alg: str) -> bool:
    return (
        key.get("kty") == KEY_TYPES[alg[:2]] and key.get("use", "sig") == "sig" and key.get("alg", alg) == alg
    )


def _verified_claims(raw: str, alg: str, keys) -> dict[str, Any]:
    token = JWS()
    token.allowed_algs = [alg]
    try:
        token.deserialize(raw)
    except (JWException, ValueError, TypeError):
        raise InvalidToken("The token is malformed.") from None
    for key in keys:
        try:
            token.verify(key, alg=alg)
        except (JWException, ValueError, TypeError):
            continue
        try:
            claims = json.loads(token.payload)
        except (ValueError, TypeError):
            raise InvalidToken("The token's claims are malformed.") from None
        if not isinstance(claims, dict):
            raise InvalidToken("The token's claims are malformed.")
        return claims
    raise SignatureInvalid("The token's signature is not valid.")  # RFC 9068 4 step 4


def _check_claims(claims: dict[str, Any], now: float | None = None) -> None:
    now = time.time() if now is None else now
    leeway = app_settings.LEEWAY
    if claims.get("iss") != app_settings.ISSUER:  # RFC 9068 4 step 2: exactly
        raise InvalidToken("The token was issued by another issuer.")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or app_settings.AUDIENCE not in audiences:  # step 3
        raise InvalidToken("The token is not meant for this service.")
    exp = claims.get("exp")
    if not _number(exp) or exp + leeway <= now:  # step 5
        raise InvalidToken("The token expired.")
    nbf = claims.get("nbf")
    if nbf is not None and (not _number(nbf) or nbf - leeway > now):  # RFC 7519 4.1.5
        raise InvalidToken("The token is not valid yet.")
    iat = claims.get("iat")
    if not _number(iat) or iat - leeway > now:  # RFC 9068 2.2: required, not in the future
        raise InvalidToken("The token's issue time is not plausible.")
    for name in ("sub", "client_id", "jti"):  # RFC 9068 2.2: required
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > 255:
            raise InvalidToken(f"The token has no usable {name}.")
    if "scope" in claims and not isinstance(claims["scope"], str):  # RFC 9068 2.2.3
        raise InvalidToken("The token's scope is malformed.")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
