"""Nothing skips silently in CI (``tests/conftest.py``, ``tests/stages.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci_skips import ci_refusal
from tests.stages import POSTGRESQL, REDIS, stage_reason

ROOT = Path(__file__).resolve().parent.parent


def test_a_plain_skip_fails_in_ci():
    assert "skipped under CI=true" in ci_refusal("needs something", in_ci=True)


def test_a_skip_stands_outside_ci():
    assert ci_refusal("needs something", in_ci=False) is None


def test_a_stage_skip_stands_when_another_stage_runs_the_test(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert ci_refusal(stage_reason(REDIS, "needs Redis"), in_ci=True) is None


def test_a_stage_skip_fails_in_its_own_stage(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")
    assert "skipped in the redis stage" in ci_refusal(stage_reason(REDIS, "needs Redis"), in_ci=True)
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    assert "skipped in the postgresql stage" in ci_refusal(stage_reason(POSTGRESQL, "x"), in_ci=True)


@pytest.mark.parametrize(("ci", "expected_exit"), [("true", 1), ("", 0)])
def test_the_hook_turns_a_skip_into_a_failure_only_in_ci(tmp_path, ci, expected_exit):
    probe = tmp_path / "test_probe.py"
    probe.write_text("import pytest\n\ndef test_probe():\n    pytest.skip('no reason to run')\n")
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.ci_skips",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            str(probe),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == expected_exit, result.stdout + result.stderr
    if ci:
        assert "skipped under CI=true, which must run every test: no reason to run" in result.stdout
