"""E3: every worker refuses a revoked token soon after the provider's event reached any one of them.

The receiver (:mod:`resource_app.internal.security_events`) writes :class:`~resource_app.models.Revocation`
rows in the service's database; each worker keeps a copy in memory (a dict lookup per request) and
refreshes it at most every ``RESOURCE_APP_DENY_LIST_SYNC_SECONDS`` with one indexed query for the
rows recorded since its last look (``recorded_at`` is set by the database's clock, so hosts whose
clocks disagree still agree on it; rows are read again for ``OVERLAP`` behind the newest seen, for
transactions that commit late), and reads the whole list again every ``PRUNE_SECONDS``, which bounds
what any surprise could hide. A worker whose copy could not be refreshed for ten intervals answers
503 instead of accepting (fail closed): a failing database never turns a refusal into an acceptance.
A service whose database was never migrated has no deny-list table: every token gets 503, and the
worker logs an error naming the fix (``manage.py migrate``) once a minute until it is applied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import DatabaseError, connections, router
from django.utils import timezone

from resource_app.app_settings import app_settings
from resource_app.exceptions import DenyListUnavailable, InvalidToken
from resource_app.tokens import ValidatedToken

logger = logging.getLogger("resource_app")

# Rows are read again for this long after the newest one seen: a row whose transaction began
# earlier may commit after a later one was read (its recorded_at is then older than the cursor).
OVERLAP = timedelta(seconds=10)
# The copy may be this many sync intervals old before requests are answered 503.
STALE_INTERVALS = 10
PRUNE_SECONDS = 60

# kind, value, revoked_before, recorded (None: not read from the database), expires
Entry = tuple[str, str, "float | None", "datetime | None", datetime]


class DenyList:
    """One worker's copy of the deny-list. ``clock`` (monotonic seconds) is replaceable in tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        self._jtis: dict[str, float] = {}  # jti -> expiry (epoch seconds)
        self._subjects: dict[str, tuple[float, float]] = {}  # sub -> (revoked_before, expiry)
        self._cursor: datetime | None = None
        self._synced_at = float("-inf")
        self._attempted_at = float("-inf")
        self._pruned_at = float("-inf")
        self._missing_table_reported_at = float("-inf")

    def check(self, token: ValidatedToken) -> None:
        """Refuse a revoked token (``invalid_token``), or answer 503 when the copy is too old to
        decide (:class:`~resource_app.exceptions.DenyListUnavailable`)."""
        if not app_settings.DENY_LIST:
            return
        interval = app_settings.DENY_LIST_SYNC_SECONDS
        now = self.clock()
        if now - self._attempted_at >= interval:
            self.sync(now)
        if now - self._synced_at > STALE_INTERVALS * interval:
            raise DenyListUnavailable("The service cannot tell whether the token was revoked.")
        if self.is_revoked(token):
            raise InvalidToken("The token was revoked.")

    def is_revoked(self, token: ValidatedToken) -> bool:
        jti = token.claims.get("jti")
        if isinstance(jti, str) and jti in self._jtis:
            return True
        entry = self._subjects.get(token.subject)
        if entry is None:
            return False
        iat = token.claims.get("iat")
        # A JWT always has iat (RFC 9068 2.2, checked). An introspected token without one was
        # vouched for by the provider a moment ago, after the revocation: it stands.
        return isinstance(iat, int | float) and not isinstance(iat, bool) and iat <= entry[0]

    def sync(self, now: float | None = None) -> None:
        """Read the rows recorded since the last look; on failure keep the copy (and its age)."""
        now = self.clock() if now is None else now
        if not self._lock.acquire(blocking=False):
            return  # another thread of this worker is reading them now
        try:
            self._attempted_at = now
            full = now - self._pruned_at >= PRUNE_SECONDS
            if full:  # every entry still in force, read again: nothing can stay hidden for longer
                self._cursor = None
            self.apply(self._read())
            self._synced_at = now
            self._missing_table_reported_at = float("-inf")
            if full:
                self._prune()
                self._pruned_at = now
        except Exception as error:  # any failure of the database: keep what we have, decide by its age
            self._report(error, now)
        finally:
            self._lock.release()

    def _report(self, error: Exception, now: float) -> None:
        """Log why the list could not be read. A missing table is a deployment mistake with one fix:
        an error saying so, once a minute (every token is refused meanwhile); any other failure is
        a warning with its traceback."""
        if now - self._missing_table_reported_at < PRUNE_SECONDS:
            return  # said a moment ago; the table is still missing
        missing = _missing_table() if isinstance(error, DatabaseError) else None
        if missing is not None:
            self._missing_table_reported_at = now
            logger.error(
                "resource_app: the deny-list table %s does not exist in the database %r, so every "
                "token is refused (503). Run `python manage.py migrate` to create it (or, for a "
                "service that receives no revocation events, set RESOURCE_APP_DENY_LIST = False).",
                *missing,
            )
            return
        logger.warning("resource_app: the deny-list could not be read", exc_info=True)

    def _read(self) -> list[Entry]:
        from resource_app.models import Revocation  # models load after the app registry

        rows = Revocation.objects.filter(expires_at__gt=timezone.now())
        if self._cursor is not None:
            rows = rows.filter(recorded_at__gte=self._cursor - OVERLAP)
        return list(rows.values_list("kind", "value", "revoked_before", "recorded_at", "expires_at"))

    def apply(self, entries: Iterable[Entry]) -> None:
        """Add entries to this copy (the receiver also calls it, so its own worker needs no sync)."""
        from resource_app.models import Revocation

        for kind, value, revoked_before, recorded_at, expires_at in entries:
            expiry = expires_at.timestamp()
            if kind == Revocation.JTI:
                self._jtis[value] = max(expiry, self._jtis.get(value, expiry))
            elif kind == Revocation.SUBJECT and revoked_before is not None:
                before, until = self._subjects.get(value, (revoked_before, expiry))
                self._subjects[value] = (max(before, revoked_before), max(until, expiry))
            if recorded_at is not None and (self._cursor is None or recorded_at > self._cursor):
                self._cursor = recorded_at

    def _prune(self) -> None:
        wall = time.time()
        self._jtis = {jti: until for jti, until in self._jtis.items() if until > wall}
        self._subjects = {sub: entry for sub, entry in self._subjects.items() if entry[1] > wall}


def _missing_table() -> tuple[str, str] | None:
    """The deny-list's table and database alias when that database lacks the table (the migration
    never ran). Asked only after a failed read; ``None`` when it exists or cannot be told."""
    from resource_app.models import Revocation

    alias = router.db_for_read(Revocation)
    connection = connections[alias]
    table = Revocation._meta.db_table
    try:
        with connection.cursor() as cursor:
            return None if table in connection.introspection.table_names(cursor) else (table, alias)
    except DatabaseError:  # unreachable, or a transaction the failed read aborted: no diagnosis
        return None


deny_list = DenyList()
