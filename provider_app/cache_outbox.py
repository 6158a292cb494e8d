"""Invalidations of the shared cache that never fail a change, and never leave a stale entry served (P23).

:func:`invalidate` deletes keys from the shared cache (:mod:`provider_app.shared_cache`) at once and
again when the transaction commits. If the cache cannot be reached at that moment (Redis down,
restarting, refusing writes, a timeout), the change still commits: the keys are recorded in the
database (:class:`~provider_app.cache_models.PendingCacheInvalidation`) and the caller waits
``PROVIDER_APP_TOKEN_CACHE_RECHECK`` seconds before it answers.

Every process calls :func:`caches_usable` before it serves anything from the caches (the shared one
and its local copies). At most every ``RECHECK`` seconds, that looks for recorded invalidations and
tries to apply them; while any is left, nothing is served from a cache (the database answers). As
the failing request waited one full interval, every process has looked again by the time it is
answered. When Redis is back, the first process that looks applies the record (deletes the keys and
publishes them), and the caches are used again.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import connections, router, transaction
from django.db.utils import DatabaseError

from provider_app import shared_cache, token_local_cache
from provider_app.app_settings import app_settings
from provider_app.cache_models import PendingCacheInvalidation

logger = logging.getLogger(__name__)

# Recorded invalidations applied per look (the rest at the next one).
BATCH = 100

_lock = threading.Lock()
_state = {"checked_at": float("-inf"), "blocked": False}


def recheck() -> float:
    """Seconds between two looks at the recorded invalidations (``PROVIDER_APP_TOKEN_CACHE_RECHECK``)."""
    return app_settings.TOKEN_CACHE_RECHECK


def invalidate(cache, names: list[str], message: str) -> None:
    """Delete ``names`` (and their permits) from the shared cache now and when the transaction commits.

    Never raises for a cache failure: see the module's docstring.
    """
    using = router.db_for_write(PendingCacheInvalidation)
    recorded: list[int] = []

    def attempt(after_commit: bool) -> None:
        try:
            shared_cache.store(cache).invalidate(names, message)
        except Exception:
            logger.error(
                "the shared cache could not be invalidated; recorded in the database, caches unused until"
                " it is applied",
                exc_info=True,
            )
            row = PendingCacheInvalidation.objects.using(using).create(names=" ".join(names), message=message)
            recorded.append(row.pk)
            block()
            if after_commit:
                time.sleep(recheck())  # every other process looks at the record before this is answered
            return
        if after_commit and recorded:  # the first attempt failed, this one did the work
            PendingCacheInvalidation.objects.using(using).filter(pk__in=recorded).delete()

    if connections[using].in_atomic_block:
        attempt(after_commit=False)
    transaction.on_commit(lambda: attempt(after_commit=True), using=using)


def block() -> None:
    """Stop serving from the caches in this process until the recorded invalidations are applied."""
    with _lock:
        _state["blocked"], _state["checked_at"] = True, time.monotonic()
    _drop_local_copies()


def caches_usable(cache) -> bool:
    """False while an invalidation recorded in the database has not reached the shared cache."""
    now = time.monotonic()
    if now - _state["checked_at"] < recheck():
        return not _state["blocked"]
    with _lock:
        if now - _state["checked_at"] >= recheck():
            blocked = not _apply_recorded(cache)
            _state["blocked"], _state["checked_at"] = blocked, time.monotonic()
            if blocked:
                _drop_local_copies()
    return not _state["blocked"]


def _apply_recorded(cache) -> bool:
    """Apply recorded invalidations; True if none is left."""
    try:
        pending = list(PendingCacheInvalidation.objects.order_by("pk")[: BATCH + 1])
    except DatabaseError:
        logger.warning("cannot read the pending cache invalidations; caches unused", exc_info=True)
        return False
    if not pending:
        return True
    try:
        store = shared_cache.store(cache)
        for row in pending[:BATCH]:
            store.invalidate(row.names.split(), row.message)
            PendingCacheInvalidation.objects.filter(pk=row.pk).delete()
    except Exception:
        logger.warning("pending cache invalidations still cannot be applied; caches unused", exc_info=True)
        return False
    logger.info("pending cache invalidations applied")
    return len(pending) <= BATCH


def _drop_local_copies() -> None:
    layer = token_local_cache.current()
    if layer is not None:
        layer.drop_all()


def forget_state() -> None:
    """Look again at the next use (tests, a changed setting)."""
    with _lock:
        _state["blocked"], _state["checked_at"] = False, float("-inf")
