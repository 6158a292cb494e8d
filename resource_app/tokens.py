"""What a view learns about the access token of its request: :class:`ValidatedToken`, and
:class:`TokenUser` for DRF's ``request.user`` (a service usually has no local users)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_SCOPES = 100
MAX_ACTORS = 10  # a chain of services longer than this is refused as malformed


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
    # RFC 8693 4.1: the clients acting for ``subject``, the current actor first (``act.sub``),
    # then the one it acted for (``act.act.sub``) and so on; empty when nobody acts for the subject.
    actors: tuple[str, ...] = ()

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
            actors=actor_chain(claims),
        )

    @property
    def actor(self) -> str | None:
        """The client acting for the subject now (RFC 8693 4.1: only it decides, not the earlier ones)."""
        return self.actors[0] if self.actors else None

    @property
    def acting_client(self) -> str:
        """Who presents this token: the current actor, or, when nobody acts for the subject, the
        client the token was issued to. What ``allowed_actors`` and ``refused_actors`` decide on."""
        return self.actor or self.client_id

    def has_scopes(self, required) -> bool:
        return set(required) <= self.scopes

    @property
    def is_client_only(self) -> bool:
        """A client_credentials token: ``sub`` is the client itself (RFC 9068 2.2)."""
        return self.subject == self.client_id


def actor_chain(claims: dict[str, Any]) -> tuple[str, ...]:
    """The ``sub`` of each nested ``act`` (RFC 8693 4.1), outermost (current) first. A malformed
    chain raises ``ValueError``, which refuses the token: an ``act`` that is not an object with a
    string ``sub``, or a chain longer than ``MAX_ACTORS``."""
    chain: list[str] = []
    act = claims.get("act")
    while act is not None:
        sub = act.get("sub") if isinstance(act, dict) else None
        if not isinstance(sub, str) or not sub or len(chain) == MAX_ACTORS:
            raise ValueError("malformed act claim")
        chain.append(sub)
        act = act.get("act")
    return tuple(chain)


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
