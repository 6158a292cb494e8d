"""The browser-session side of a login: the binding that ties pending logins to this browser (C1)
and the ``next`` check (C7)."""

from __future__ import annotations

import secrets

from django.utils.http import url_has_allowed_host_and_scheme

SESSION_BINDING_KEY = "client_app_binding"
SESSION_PROVIDER_KEY = "client_app_provider"
MAX_NEXT_LENGTH = 2000  # PendingLogin.next_url


def session_binding(request, *, create: bool) -> str | None:
    """A random value kept in the session; a pending login stores only its hash. Parallel tabs of
    one browser share it, another browser cannot know it."""
    binding = request.session.get(SESSION_BINDING_KEY)
    if binding is None and create:
        binding = secrets.token_urlsafe(32)
        request.session[SESSION_BINDING_KEY] = binding
    return binding


def safe_next(request, candidate: str | None) -> str:
    """``candidate`` if it stays on this site (same host, https when the request is), else ""."""
    if not candidate or len(candidate) > MAX_NEXT_LENGTH or "\x00" in candidate:
        return ""  # too long to store, or a NUL byte that PostgreSQL text cannot hold
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""
