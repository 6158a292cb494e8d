"""The CI stage a test needs, and the rule that nothing skips silently in CI.

CI runs the suite three times (`.ci/run`): SQLite, PostgreSQL, then PostgreSQL with Redis. A test
that proves something only on PostgreSQL (row locks, real concurrency) or only with a shared Redis
cache skips elsewhere through the helpers below, with a reason that names its stage (a PostgreSQL test
says so with ``@pytest.mark.postgres``: ``tests/conftest.py`` calls ``require_postgresql`` for it). Under
``CI=true``, ``tests/conftest.py`` turns every other skip into a failure, and so a stage skip in the
stage that should have run the test.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

POSTGRESQL = "postgresql"
REDIS = "redis"
_PREFIX = "[stage: {}] "


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def shared_redis_url() -> str:
    """The ``REDIS_URL`` of the Redis stage, or ``""`` outside it."""
    return os.environ.get("REDIS_URL", "")


def stage_reason(stage: str, reason: str) -> str:
    """A skip reason naming the stage that runs the test (for ``pytest.mark.skipif``)."""
    return _PREFIX.format(stage) + reason


def skip_outside_stage(stage: str, reason: str) -> None:
    pytest.skip(stage_reason(stage, reason))


def require_postgresql() -> None:
    """Skip unless the tests run on PostgreSQL; fail if ``DATABASE_URL`` names PostgreSQL but they do not.

    On SQLite, live_server shares the test's single in-memory connection between its threads and the
    in-memory database locks whole tables, so concurrency proofs there prove nothing.
    """
    if on_postgresql():
        return
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.fail("DATABASE_URL names PostgreSQL but the tests run on another database")
    skip_outside_stage(POSTGRESQL, "needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)")


def require_shared_redis() -> str:
    """The shared Redis of the Redis stage; skip outside it (a Redis that is set but down fails the test)."""
    url = shared_redis_url()
    if not url:
        skip_outside_stage(REDIS, "needs the shared Redis cache: run with REDIS_URL=redis://... (CI does)")
    return url


def stage_of_skip(reason: str) -> str | None:
    """The stage a skip reason names, if it was made by ``skip_outside_stage``."""
    for stage in (POSTGRESQL, REDIS):
        if reason.startswith(_PREFIX.format(stage)):
            return stage
    return None


def stage_is_running(stage: str) -> bool:
    if stage == POSTGRESQL:
        return on_postgresql() or os.environ.get("DATABASE_URL", "").startswith("postgres")
    return bool(shared_redis_url())
