"""Access and refresh token values: 256 random bits (DOT's ``ACCESS_TOKEN_GENERATOR``).

oauthlib's default draws 30 characters from a 62-letter alphabet one ``SystemRandom.choice`` at a
time (about 178 bits, 30 calls into the random source per token). One ``secrets.token_urlsafe``
call gives 256 bits in 43 URL-safe characters, which is what RFC 9700 asks of a bearer token
(unguessable, RFC 6750 5.2) with margin, and costs one read of the operating system's random source.
"""

from __future__ import annotations

import secrets

#: Bytes of randomness per token (256 bits).
TOKEN_BYTES = 32


def generate_token(request=None) -> str:
    """A new access or refresh token value; ``request`` is oauthlib's, unused."""
    return secrets.token_urlsafe(TOKEN_BYTES)
