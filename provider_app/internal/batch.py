"""One bulk revocation (a token family, a client's tokens, the admin's actions): what the revocation
events of its many tokens look up once (:mod:`provider_app.internal.revocation_events`: the resource
servers of an audience), kept for that call only.

Only lookups are kept: each revoked token's event is still written where its row is deleted, in that
transaction (E4), so a revocation rolled back (or a savepoint of it) leaves no event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_memo: ContextVar[dict | None] = ContextVar("provider_app_bulk_revocation", default=None)


@contextmanager
def revocation() -> Iterator[None]:
    """Inside, :func:`memo` is one dict, emptied when the outermost block ends (nested blocks share it)."""
    if _memo.get() is not None:
        yield
        return
    reset = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(reset)


def memo() -> dict | None:
    """The lookups of the bulk revocation under way (``None``: none is; look up every time)."""
    return _memo.get()
