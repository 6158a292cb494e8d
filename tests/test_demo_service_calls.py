"""The demo's profile page calls its notes service after revoking a token: that call obeys
client_app's total deadline and size cap like every call client_app makes (C14)."""

from __future__ import annotations

import time

from oauthsite import views
from oauthsite.views import DemoProfileView
from tests.processes import trickle_server


def test_c14_the_demo_cuts_a_service_that_sends_its_headers_slowly(settings):
    settings.CLIENT_APP_HTTP_DEADLINE = 1.0
    with trickle_server(b"{}", slow_headers=True) as url:  # about 90 bytes of headers: 18 s
        started = time.monotonic()
        result = DemoProfileView._call_after_revocation(url + "/", "a-revoked-token", started)
        elapsed = time.monotonic() - started
    assert "does not answer" in result["error"]
    assert elapsed < 2.5


def test_c14_the_demo_does_not_read_an_oversized_answer(settings):
    settings.CLIENT_APP_HTTP_MAX_RESPONSE_BYTES = 1000
    with trickle_server(b'{"padding": "' + b"x" * 5000 + b'"}', seconds_per_byte=0) as url:
        result = DemoProfileView._call_after_revocation(url + "/", "a-revoked-token", time.monotonic())
    assert "does not answer" in result["error"]


class _Refusal:
    status_code = 401
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def test_an_event_faster_than_the_first_call_is_shown(monkeypatch):
    """When the provider's revocation event reaches notes before the page's first call, notes
    refuses at once: the page says so (the time of that refusal), it does not wait for another."""
    calls = []
    monkeypatch.setattr(views, "_get_with", lambda audience, token: calls.append(token) or _Refusal())
    result = DemoProfileView._call_after_revocation(
        "http://notes.invalid/", "a-revoked-token", time.monotonic()
    )
    assert calls == ["a-revoked-token"]  # one call, no polling
    assert result["rows"] == [] and result["problems"][0]["service"] == "notes"
    assert 'error="invalid_token"' in result["problems"][0]["message"]
    assert result["jwt_refused_ms"] >= 0 and "jwt_wait_seconds" not in result
