"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from tests.factories import ApplicationFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def application(db):
    return ApplicationFactory()
