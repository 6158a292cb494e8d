"""Each app's migrations, applied alone (``manage.py migrate provider_app`` on an empty database, or
a project migrating app by app), find every model they refer to: their dependencies name the
migration that creates it, not only the other app's first one."""

from __future__ import annotations

import pytest
from django.db.migrations.loader import MigrationLoader

APPS = ("provider_app", "client_app", "resource_app")


def _migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return loader, sorted(key for key in loader.graph.nodes if key[0] in APPS)


@pytest.mark.parametrize("key", _migrations()[1], ids="/".join)
def test_a_migration_applied_with_its_dependencies_only_finds_every_model_it_refers_to(key):
    loader, _ = _migrations()
    models = loader.project_state(key, at_end=True).apps.get_models()  # a missing one raises
    assert models
