"""What a view learns about the access token of its request: :class:`ValidatedToken`, and
:class:`TokenUser` for DRF's ``request.user`` (a service usually has no local users)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_SCOPES = 100


@dataclass(frozen=True)
class ValidatedToken:
    """A token this service accepted: its claims (RFC 9068 2.2, or RFC 7662 2.2 in introspection mode)."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    audiences: tuple[str, ...]
    expires_at: float
    mode: str  # "jwt" or "introspection": which check decided
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_claims(cls, claims: dict[str, Any], *, mode: str) -> ValidatedToken:
        audience = claims.get("aud")
        audiences = (
            (audience,)
            if isinstance(audience, str)
            else tuple(a for a in audience or () if isinstance(a, str))
        )
        scope = claims.get("scope")
        scopes = frozenset(scope.split()[:MAX_SCOPES]) if isinstance(scope, str) else frozenset()
        return cls(
            subject=str(claims.get("sub") or ""),
            client_id=str(claims.get("client_id") or ""),
            scopes=scopes,
            audiences=audiences,
            expires_at=float(claims.get("exp") or 0),
            mode=mode,
            claims=dict(claims),
        )

    def has_scopes(self, required) -> bool:
        return set(required) <= self.scopes

    @property
    def is_client_only(self) -> bool:
        """A client_credentials token: ``sub`` is the client itself (RFC 9068 2.2)."""
        return self.subject == self.client_id


class TokenUser:
    """``request.user`` for a request authenticated by a token: the subject, never a database row."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, token: ValidatedToken) -> None:
        self.token = token
        self.username = token.subject

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username
