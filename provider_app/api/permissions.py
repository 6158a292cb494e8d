"""Scope checks for API views."""

from __future__ import annotations

from oauth2_provider.contrib.rest_framework import TokenHasScope


class HasScopes(TokenHasScope):
    """Every scope in the view's ``required_scopes`` must be on the token (403 ``insufficient_scope``)."""
