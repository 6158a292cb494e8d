"""The one entry point: :func:`authenticate` a request, or :func:`validate_token` a token string.

``RESOURCE_APP_MODE`` decides how: ``"jwt"`` checks an RFC 9068 JWT access token locally against
the provider's keys (no call per request; a revoked token is accepted until it expires unless the
provider sends a revocation event), ``"introspection"`` asks the provider (RFC 7662) with a short
cache (revocation seen within ``RESOURCE_APP_INTROSPECTION_CACHE_SECONDS``; every cache miss is a
call). In every mode an accepted token is then looked up in the deny-list that revocation events
fill (E3, :mod:`resource_app.internal.deny_list`). See docs/resource-server.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.views.decorators.debug import sensitive_variables

from resource_app.app_settings import app_settings
from resource_app.exceptions import ActorNotAllowed, InsufficientScope, InvalidToken, TokenRefused
from resource_app.internal import introspection, jwt_access_tokens
from resource_app.internal.deny_list import deny_list
from resource_app.internal.requests_tokens import bearer_token
from resource_app.tokens import ValidatedToken


@sensitive_variables("raw")
def validate_token(raw: str) -> ValidatedToken:
    """The accepted token, or :class:`~resource_app.exceptions.TokenRefused` saying why."""
    try:
        mode = app_settings.MODE
        if mode == "auto":
            mode = "jwt" if jwt_access_tokens.looks_like_jwt(raw) else "introspection"
        if mode == "introspection":
            token = introspection.validate(raw)
        else:
            token = jwt_access_tokens.validate(raw)  # also when kept verified in this process
        deny_list.check(token)  # E3: a token revoked by an event is refused in every mode
        return token
    except TokenRefused:
        raise
    except (ValueError, TypeError, KeyError, UnicodeError, RecursionError, OverflowError):
        # R12: a token of any shape is an answer, never a 500.
        raise InvalidToken("The token is malformed.") from None


def authenticate(request, scopes: Iterable[str] = ()) -> ValidatedToken | None:
    """The request's token, checked, with ``scopes`` required; ``None`` if it carries no token."""
    raw = bearer_token(request)
    if raw is None:
        return None
    token = validate_token(raw)
    require_scopes(token, scopes)
    return token


def require_scopes(token: ValidatedToken, scopes: Iterable[str]) -> None:
    missing = sorted(set(scopes) - token.scopes)
    if missing:
        raise InsufficientScope("The token lacks a scope this resource needs.", sorted(set(scopes)))


def require_actor(
    token: ValidatedToken, allowed: Iterable[str] | None = None, refused: Iterable[str] = ()
) -> None:
    """The client presenting the token (its current actor, RFC 8693 ``act.sub``, else its
    ``client_id``; earlier actors of a chain decide nothing, 4.1) must be in ``allowed`` when given
    and never in ``refused``."""
    acting = token.acting_client
    if (allowed is not None and acting not in set(allowed)) or acting in set(refused):
        raise ActorNotAllowed("This resource does not take calls from this client.")
