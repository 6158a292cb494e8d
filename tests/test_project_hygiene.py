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
