"""The pytest hook behind "nothing skips silently in CI" (registered by ``tests/conftest.py``).

Kept free of Django imports so that it also loads as a plain plugin (``-p tests.ci_skips``).
"""

from __future__ import annotations

import os

import pytest

from tests.stages import stage_is_running, stage_of_skip


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def ci_refusal(reason: str, *, in_ci: bool) -> str | None:
    """Why a skip with this reason must fail the run, or ``None`` when it may stand.

    Outside CI every skip stands (shown with ``-rs``). In CI (``CI=true``) a skip stands only when
    it names a stage (``tests/stages.py``) that is not the one running: another stage of ``.ci/run``
    runs that test.
    """
    if not in_ci:
        return None
    stage = stage_of_skip(reason)
    if stage is None:
        return f"skipped under CI=true, which must run every test: {reason}"
    if stage_is_running(stage):
        return f"skipped in the {stage} stage, which must run it: {reason}"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        refusal = ci_refusal(_skip_reason(report), in_ci=os.environ.get("CI") == "true")
        if refusal:
            report.outcome = "failed"
            report.longrepr = refusal
