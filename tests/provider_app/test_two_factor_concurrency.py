"""P21 under real concurrency: one code submitted by parallel requests is accepted exactly once.

Runs over HTTP against pytest-django's live_server, one thread per request, on PostgreSQL (row locks,
``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import pytest

from provider_app.two_factor.recovery import issue_recovery_codes
from tests.provider_app.two_factor_helpers import code_at, live_password_step, make_device, submit_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

PARALLEL = 6


def _outcomes(responses):
    statuses = [response.status_code for response in responses]
    assert all(status < 500 for status in statuses), statuses
    accepted = [r for r in responses if r.status_code == 302]
    refused = [r for r in responses if r.status_code == 200]
    assert len(accepted) + len(refused) == len(responses), statuses
    return accepted, refused


def test_p21_concurrent_submissions_of_one_totp_code_succeed_once(live_server, user):
    device = make_device(user)
    sessions = [live_password_step(live_server.url, user) for _ in range(PARALLEL)]
    responses = submit_together(sessions, f"{live_server.url}/account/two-factor/verify/", code_at(device))
    accepted, refused = _outcomes(responses)
    assert len(accepted) == 1, [r.status_code for r in responses]
    assert all("not right" in r.text or "Please wait" in r.text for r in refused)
    # Only the winner is signed in.
    signed_in = [
        s
        for s in sessions
        if s.get(f"{live_server.url}/account/two-factor/", allow_redirects=False).status_code == 200
    ]
    assert len(signed_in) == 1


def test_p21_concurrent_submissions_of_one_recovery_code_succeed_once(live_server, user):
    make_device(user)
    code = issue_recovery_codes(user)[0]
    sessions = [live_password_step(live_server.url, user) for _ in range(PARALLEL)]
    responses = submit_together(sessions, f"{live_server.url}/account/two-factor/verify/", code)
    accepted, _refused = _outcomes(responses)
    assert len(accepted) == 1, [r.status_code for r in responses]
