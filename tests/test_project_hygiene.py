"""The repository stays clean: migrations match the models, ruff finds nothing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is in requirements-dev.txt"
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manage_py_without_secrets_says_what_to_set():
    """Outside demo mode a missing secret is a clear one-line error, not a traceback."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "OAUTHSITE_DEMO", "DJANGO_SETTINGS_MODULE"}
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.returncode == 2
    assert "Set SECRET_KEY (or SECRET_KEY_FILE) in the environment." in result.stderr
    assert "Traceback" not in result.stderr


APPS = ("provider_app", "client_app", "resource_app")


@pytest.mark.parametrize("app", APPS)
def test_the_apps_never_import_each_other(app):
    """docs/architecture: the three apps speak HTTP to each other, each installable alone."""
    import ast

    others = set(APPS) - {app}
    found = []
    for path in (ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] in others]
    assert found == []
