"""Authorization request parameters that are stored with the code must fit their columns.

DOT keeps ``nonce`` in a 255-character column and ``code_challenge`` in a 128-character one; an
over-long value used to reach the database, where PostgreSQL refuses it with a DataError (a 500).
An S256 challenge is exactly 43 characters (RFC 7636 4.2), so the limits never bind a real client.
"""

from __future__ import annotations

from oauthlib.oauth2.rfc6749.errors import InvalidRequestError

MAX_LENGTHS = {"nonce": 255, "code_challenge": 128}


def check_stored_parameter_lengths(request) -> None:
    """Raise ``invalid_request`` (sent back to the registered redirect URI) for an over-long value."""
    for name, limit in MAX_LENGTHS.items():
        value = getattr(request, name, None)
        if value and len(value) > limit:
            raise InvalidRequestError(description=f"The {name} parameter is too long.", request=request)
