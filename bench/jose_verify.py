"""How fast can a service verify an RS256 JWT access token? jwcrypto (what resource_app uses),
joserfc, PyJWT and Authlib's deprecated authlib.jose, side by side in one run; prints microseconds
per verification and the ratio to jwcrypto.

    .venv/bin/python bench/jose_verify.py [--count 3000]

Each library does the same work: the signature with RS256 as the only allowed algorithm and the
key imported once, then the claims parsed as JSON (no claim checks: resource_app makes those
itself). The others are measured only if installed (requirements-dev.txt has them; none is a
dependency of resource_app).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import timeit
import warnings

from jwcrypto import jwk, jws
from jwcrypto import jwt as jwcrypto_jwt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="bench")
    now = int(time.time())
    claims = {
        "iss": "https://id.example.com/o", "aud": "https://notes.example.com/", "sub": "42",
        "client_id": "web", "iat": now, "exp": now + 300, "jti": "0" * 32, "scope": "notes:read",
    }  # fmt: skip
    signed = jwcrypto_jwt.JWT(header={"alg": "RS256", "typ": "at+jwt", "kid": "bench"}, claims=claims)
    signed.make_signed_token(key)
    token = signed.serialize()
    public = jwk.JWK.from_json(key.export_public())

    def with_jwcrypto() -> None:
        verified = jws.JWS()
        verified.allowed_algs = ["RS256"]
        verified.deserialize(token)
        verified.verify(public, alg="RS256")
        json.loads(verified.payload)

    candidates = {"jwcrypto": with_jwcrypto}
    try:
        from joserfc import jwt as joserfc_jwt
        from joserfc.jwk import RSAKey

        joserfc_key = RSAKey.import_key(json.loads(key.export_public()))
        candidates["joserfc"] = lambda: joserfc_jwt.decode(token, joserfc_key, algorithms=["RS256"])
    except ImportError:
        pass
    try:
        import jwt as pyjwt
        from jwt.algorithms import RSAAlgorithm

        pyjwt_key = RSAAlgorithm.from_jwk(key.export_public())
        pyjws = pyjwt.PyJWS()
        candidates["PyJWT"] = lambda: json.loads(pyjws.decode(token, pyjwt_key, algorithms=["RS256"]))
    except ImportError:
        pass
    try:
        import authlib.deprecate  # noqa: F401  (its "always" filter first, so that ours wins)

        with warnings.catch_warnings():  # "authlib.jose module is deprecated, please use joserfc"
            warnings.simplefilter("ignore")
            from authlib.jose import JsonWebKey, JsonWebSignature

        authlib_key = JsonWebKey.import_key(json.loads(key.export_public()))
        authlib_jws = JsonWebSignature(algorithms=["RS256"])
        candidates["authlib.jose"] = lambda: json.loads(
            authlib_jws.deserialize_compact(token, authlib_key)["payload"]
        )
    except ImportError:
        pass
    results: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.rounds):  # alternating, the median of the rounds is reported
        for name, verify in candidates.items():
            verify()
            results[name].append(timeit.timeit(verify, number=args.count) / args.count * 1e6)
    base = statistics.median(results["jwcrypto"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:12} {median:8.1f} us per RS256 verification   ratio to jwcrypto {base / median:5.2f}x")


if __name__ == "__main__":
    main()
