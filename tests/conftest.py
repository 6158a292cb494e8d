"""Fixtures shared by the whole suite; the one PostgreSQL guard (the ``postgres`` marker); the CI rule
that nothing skips silently (``tests/ci_skips.py``)."""

from __future__ import annotations

import pytest

from tests.ci_skips import pytest_runtest_makereport  # noqa: F401 (the hook, registered here)
from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import verified_client
from tests.stages import require_postgresql


def pytest_runtest_setup(item):
    """A test marked ``postgres`` runs on PostgreSQL only: it skips, naming its stage, elsewhere (and
    fails when ``DATABASE_URL`` names PostgreSQL but the tests run on another database)."""
    if item.get_closest_marker("postgres"):
        require_postgresql()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def application(db):
    return ApplicationFactory()


@pytest.fixture
def verified_admin_client(admin_user):
    """The superuser's browser with its second factor passed, as the demo's admin site requires."""
    return verified_client(admin_user)
