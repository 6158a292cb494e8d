"""Client secrets: generated with at least 256 bits of entropy; weak ones typed by hand refused."""

from __future__ import annotations

import math
import secrets
import zlib
from collections import Counter

from django.core.exceptions import ValidationError
from oauth2_provider.generators import BaseHashGenerator

# token_urlsafe(48) gives 64 characters of base64url: 384 bits of entropy.
GENERATED_SECRET_BYTES = 48
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128


class ClientSecretGenerator(BaseHashGenerator):
    """DOT's ``CLIENT_SECRET_GENERATOR_CLASS``: a URL-safe secret from the OS's CSPRNG."""

    def hash(self) -> str:
        return generate_client_secret()


def generate_client_secret() -> str:
    """A new client secret: 48 random bytes from the OS's CSPRNG, base64url (64 characters)."""
    return secrets.token_urlsafe(GENERATED_SECRET_BYTES)


def estimated_entropy_bits(secret: str) -> float:
    """Shannon estimate of the secret's entropy: its length times the entropy per character."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return per_char * len(secret)


# Random secrets do not shrink under LZ77 (fixed Huffman codes, so a small alphabet gains nothing);
# "0123456789" * 4 or "password123" * 3 shrink to under half.
MIN_INCOMPRESSIBILITY = 0.8


def incompressibility(secret: str) -> float:
    """Deflate size over input size with fixed Huffman codes: only repeated substrings shrink it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)
    data = secret.encode()
    return len(compressor.compress(data) + compressor.flush()) / max(len(data), 1)


def validate_client_secret_strength(secret: str) -> None:
    """Refuse secrets a person may have typed: too short or too repetitive to be random."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(
            "A client secret must have at least %(min)d characters; leave it empty to generate one.",
            params={"min": MIN_SECRET_LENGTH},
            code="client_secret_too_short",
        )
    if estimated_entropy_bits(secret) < MIN_SECRET_BITS or incompressibility(secret) < MIN_INCOMPRESSIBILITY:
        raise ValidationError(
            "This client secret is not random enough; leave it empty to generate one.",
            code="client_secret_weak",
        )
