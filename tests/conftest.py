"""Fixtures shared by the whole suite; the CI rule that nothing skips silently (``tests/ci_skips.py``)."""

from __future__ import annotations

import pytest

from tests.ci_skips import pytest_runtest_makereport  # noqa: F401 (the hook, registered here)
from tests.factories import ApplicationFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def application(db):
    return ApplicationFactory()
