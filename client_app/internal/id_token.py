"""ID token validation (OIDC Core 3.1.3.7) with jwcrypto; every rule of C3 and C5 lives here.

The algorithm comes from the provider's allow-list, never from the token alone: ``none`` and the
HMAC family are refused before any key is touched, and the key's type must fit the algorithm, so
a token "signed" with HS256 using the provider's public key as the secret can never verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK, JWKSet
from jwcrypto.jws import JWS

from client_app.exceptions import InvalidIdToken
from client_app.models import ASYMMETRIC_ALGORITHMS

KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def header(raw: str) -> dict[str, Any]:
    # Compact serialization only (RFC 7519 7.2): three base64url parts, never JSON, never JWE.
    if not isinstance(raw, str) or raw.count(".") != 2:
        raise InvalidIdToken("The ID token is not a signed JWT.", code="malformed_id_token")
    try:
        padded = raw.split(".", 1)[0] + "=" * (-len(raw.split(".", 1)[0]) % 4)
        parsed = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, RecursionError):  # RecursionError: "[[[[..." nested deep enough
        raise InvalidIdToken("The ID token header is malformed.", code="malformed_id_token")
    if not isinstance(parsed, dict):
        raise InvalidIdToken("The ID token header is malformed.", code="malformed_id_token")
    return parsed


def check_algorithm(alg: Any, allowed: list[str]) -> str:
    """RFC 8725 3.1: the token's ``alg`` must be on the allow-list, which holds asymmetric ones only."""
    if not isinstance(alg, str) or alg not in allowed or alg not in ASYMMETRIC_ALGORITHMS:
        raise InvalidIdToken(
            "The ID token is signed with an algorithm this site does not accept.", code="bad_alg"
        )
    return alg


def _candidate_keys(jwks: JWKSet, kid: Any, alg: str) -> list[JWK]:
    key_type = KEY_TYPES[alg[:2]]
    if kid is not None:
        keys = list(jwks.get_keys(kid))
    else:
        keys = list(jwks["keys"])
    return [
        key
        for key in keys
        if key.get("kty") == key_type and key.get("use", "sig") == "sig" and key.get("alg", alg) == alg
    ]


def verify_signature(raw: str, *, allowed: list[str], get_jwks: Callable[[bool], JWKSet]) -> dict[str, Any]:
    """Check the signature against the provider's keys; on an unknown ``kid`` refresh the JWKS once.

    ``get_jwks(refresh)`` returns the provider's key set. Returns the verified claims.
    """
    protected = header(raw)
    alg = check_algorithm(protected.get("alg"), allowed)
    kid = protected.get("kid")
    keys = _candidate_keys(get_jwks(False), kid, alg)
    if not keys:
        # OIDC Core 10.1.1: the provider rotated its keys; look once more, then give up.
        keys = _candidate_keys(get_jwks(True), kid, alg)
    if not keys:
        raise InvalidIdToken("No key of the provider matches the ID token.", code="unknown_key")
    token = JWS()
    token.allowed_algs = [alg]
    try:
        token.deserialize(raw)
    except (JWException, ValueError, TypeError):
        raise InvalidIdToken("The ID token is malformed.", code="malformed_id_token")
    for key in keys:
        try:
            token.verify(key, alg=alg)
        except (JWException, ValueError, TypeError):
            continue
        return _claims(token.payload)
    raise InvalidIdToken("The ID token's signature is not valid.", code="bad_signature")


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError):
        raise InvalidIdToken("The ID token's claims are malformed.", code="malformed_id_token")
    if not isinstance(claims, dict):
        raise InvalidIdToken("The ID token's claims are malformed.", code="malformed_id_token")
    return claims


def check_claims(
    claims: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    leeway: int,
    max_age: int,
    now: float | None = None,
) -> None:
    """OIDC Core 3.1.3.7 steps 2-11 (signature is step 6, done before)."""
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:  # step 2
        raise InvalidIdToken("The ID token was issued by another issuer.", code="bad_iss")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:  # step 3
        raise InvalidIdToken("The ID token is meant for another client.", code="bad_aud")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):  # steps 4-5
        raise InvalidIdToken("The ID token's authorized party is another client.", code="bad_azp")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_number(exp) or exp + leeway < now:  # step 9
        raise InvalidIdToken("The ID token has expired.", code="expired")
    if not _is_number(iat) or iat - leeway > now or iat + max_age + leeway < now:  # step 10
        raise InvalidIdToken("The ID token's issue time is not plausible.", code="bad_iat")
    if nonce is not None and claims.get("nonce") != nonce:  # step 11, C3
        raise InvalidIdToken("The ID token does not answer this login (nonce).", code="bad_nonce")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:  # OIDC Core 2
        raise InvalidIdToken("The ID token has no usable subject.", code="bad_sub")


def check_at_hash(claims: dict[str, Any], *, alg: str, access_token: str) -> None:
    """OIDC Core 3.1.3.8 (optional in the code flow): when ``at_hash`` is present it must match."""
    at_hash = claims.get("at_hash")
    if at_hash is None:
        return
    # OIDC Core 3.1.3.6: the hash of the JWS algorithm (SHA-512 for EdDSA with Ed25519).
    hash_function = hashlib.sha512 if alg == "EdDSA" else HASHES.get(alg[-3:], hashlib.sha256)
    digest = hash_function(access_token.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
    if at_hash != expected:
        raise InvalidIdToken(
            "The ID token does not belong to the access token (at_hash).", code="bad_at_hash"
        )


def stored_claims(raw: str) -> dict[str, Any]:
    """The claims of an ID token this site verified when it stored it (no second verification)."""
    token = JWS()
    try:
        token.deserialize(raw)
        return _claims(token.objects["payload"])
    except (JWException, ValueError, TypeError, KeyError, InvalidIdToken):
        return {}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate(
    raw: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    allowed: list[str],
    get_jwks: Callable[[bool], JWKSet],
    leeway: int,
    max_age: int,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The full validation; returns the claims or raises :class:`InvalidIdToken`."""
    claims = verify_signature(raw, allowed=allowed, get_jwks=get_jwks)
    check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, leeway=leeway, max_age=max_age)
    if access_token is not None:
        check_at_hash(claims, alg=header(raw)["alg"], access_token=access_token)
    return claims
