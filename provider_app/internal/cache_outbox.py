"""Invalidations of the shared cache that never fail a change, and never leave a stale entry served (P23).

:func:`invalidate` deletes keys from the shared cache (:mod:`provider_app.internal.shared_cache`) at once and
again when the transaction commits. If the cache cannot be reached at that moment (Redis down,
restarting, refusing writes, a timeout), the change still commits: the keys are recorded in the
database (:class:`~provider_app.models.PendingCacheInvalidation`) and the caller does not
answer before ``PROVIDER_APP_TOKEN_CACHE_RECHECK`` seconds have passed since the record became
visible (failures one after the other in one thread share one record, and one wait).

Every process calls :func:`caches_usable` before it serves anything from the caches (the shared one
and its local copies). At most every ``RECHECK`` seconds, that looks for recorded invalidations and
tries to apply them; while any is left, nothing is served from a cache (the database answers). As
the failing request waited one full interval, every process has looked again by the time it is
answered. When Redis is back, the first process that looks applies the record (deletes the keys and
publishes them), and the caches are used again."""

from __future__ import annotations

import logging
import threading
import time

from django.db import connections, router, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat
from django.db.utils import DatabaseError

from provider_app.app_settings import app_settings
from provider_app.internal import local_cache, shared_cache
from provider_app.models import PendingCacheInvalidation

logger = logging.getLogger(__name__)

# Recorded invalidations applied per look (the rest at the next one).
BATCH = 100

_lock = threading.Lock()
_state = {"checked_at": float("-inf"), "blocked": False, "failed_at": float("-inf")}


def recheck() -> float:
    """Seconds between two looks at the recorded invalidations (``PROVIDER_APP_TOKEN_CACHE_RECHECK``)."""
    return app_settings.TOKEN_CACHE_RECHECK


def invalidate(cache, names: list[str], message: str) -> None:
    """Delete ``names`` (and their permits) from the shared cache now and when the transaction commits.

    Never raises for a cache failure: see the module's docstring.
    """
    using = router.db_for_write(PendingCacheInvalidation)

    def attempt(after_commit: bool) -> None:
        # Failed here a moment ago: record at once rather than wait out another timeout.
        failed = time.monotonic() - _state["failed_at"] < recheck()
        if not failed:
            try:
                shared_cache.store(cache).invalidate(names, message)
            except Exception:
                logger.error(
                    "the shared cache could not be invalidated; recorded in the database, caches unused"
                    " until it is applied",
                    exc_info=True,
                )
                failed = True
        if not failed:
            return
        _state["failed_at"] = time.monotonic()
        block()
        try:
            _record(names, message, using)
        except DatabaseError:
            logger.critical("a failed cache invalidation could not be recorded either", exc_info=True)
            return
        if after_commit:
            _wait()  # every other process has looked at the record before this is answered

    if connections[using].in_atomic_block:
        attempt(after_commit=False)
    # robust: a failing hook registered before this one must not skip it.
    transaction.on_commit(lambda: attempt(after_commit=True), using=using, robust=True)


# This thread's open record: [pk, when it became visible to other processes (None: not committed yet)].
# Invalidations that fail one after the other (a cascade, a family) go into one record, so that the
# request waits once, not once per token.
_thread = threading.local()


def _record(names: list[str], message: str, using: str) -> None:
    current = getattr(_thread, "open", None)
    if current is not None:
        appended = (
            PendingCacheInvalidation.objects.using(using)
            .filter(pk=current[0])
            .update(
                names=Concat(F("names"), Value(" " + " ".join(names)), output_field=TextField()),
                message=Concat(F("message"), Value(" " + message), output_field=TextField()),
            )
        )
        if appended:
            return
    row = PendingCacheInvalidation.objects.using(using).create(names=" ".join(names), message=message)
    _thread.open = [row.pk, None if connections[using].in_atomic_block else time.monotonic()]


def _wait() -> None:
    """Sleep until one recheck interval has passed since this thread's record became visible."""
    current = getattr(_thread, "open", None)
    if current is None:
        return
    if current[1] is None:  # written inside the transaction that has just committed
        current[1] = time.monotonic()
    remaining = current[1] + recheck() - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def block() -> None:
    """Stop serving from the caches in this process until the recorded invalidations are applied."""
    with _lock:
        _state["blocked"], _state["checked_at"] = True, time.monotonic()
    _drop_local_copies()


def caches_usable(cache) -> bool:
    """False while an invalidation recorded in the database has not reached the shared cache."""
    if time.monotonic() - _state["checked_at"] < recheck():
        return not _state["blocked"]
    with _lock:
        if time.monotonic() - _state["checked_at"] >= recheck():
            # The look counts from before its first read: a record committed after that read is
            # seen by the next look, at most one interval later.
            started = time.monotonic()
            blocked = not _apply_recorded(cache)
            _state["blocked"], _state["checked_at"] = blocked, started
            if blocked:
                _drop_local_copies()
    return not _state["blocked"]


def _apply_recorded(cache) -> bool:
    """Apply recorded invalidations; True once none is left."""
    for _ in range(3):  # records written while applying are looked at again
        try:
            pending = list(PendingCacheInvalidation.objects.order_by("pk")[:BATCH])
        except DatabaseError:
            logger.warning("cannot read the pending cache invalidations; caches unused", exc_info=True)
            return False
        if not pending:
            return True
        try:
            store = shared_cache.store(cache)
            for row in pending:
                store.invalidate(row.names.split(), row.message)
                # Only if nobody appended meanwhile (an append is applied at the next look).
                PendingCacheInvalidation.objects.filter(pk=row.pk, names=row.names).delete()
        except Exception:
            logger.warning(
                "pending cache invalidations still cannot be applied; caches unused", exc_info=True
            )
            return False
        logger.info("pending cache invalidations applied")
    return False


def _drop_local_copies() -> None:
    layer = local_cache.current()
    if layer is not None:
        layer.drop_all()


def forget_state() -> None:
    """Look again at the next use (tests, a changed setting)."""
    with _lock:
        _state["blocked"], _state["checked_at"] = False, float("-inf")
        _state["failed_at"] = float("-inf")
    _thread.open = None
