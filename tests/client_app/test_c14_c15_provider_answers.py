"""C14: every call to a provider has a total deadline and a size cap, and the refresh claim (C10)
outlives them. C15: no provider answer causes a 500, and an error report shows no token."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django.views.debug import ExceptionReporter

from client_app.exceptions import ProviderError
from client_app.internal import http, token_store
from client_app.models import SocialAccount, TokenSet
from tests.client_app.conftest import error_code
from tests.client_app.fake_provider import CLIENT_SECRET
from tests.processes import trickle_server

pytestmark = pytest.mark.django_db


def _token_body(flow, raw_expires_in: str | None = None, **changes) -> str:
    body = flow.fake.issue_tokens()
    body.update(changes)
    text = json.dumps(body)
    if raw_expires_in is not None:
        text = text.replace('"expires_in": 3600', f'"expires_in": {raw_expires_in}')
    return text


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "NaN", "Infinity", '"abc"', "true", "[3600]"])
def test_c15_unusable_expires_in_is_a_clear_error_not_a_500(flow, raw):
    params = flow.start()
    flow.fake.token_body = _token_body(flow, raw)
    response = flow.callback(params)
    assert response.status_code == 502  # a clear page: the provider sent something unusable
    assert error_code(response) == "malformed_response"
    assert TokenSet.objects.count() == 0


@pytest.mark.parametrize("raw", [str(10**20), "1e300", '"3600"', "-5", "3600.0"])
def test_c15_large_or_odd_but_usable_expires_in_is_bounded(flow, raw):
    params = flow.start()
    flow.fake.token_body = _token_body(flow, raw)
    response = flow.callback(params)
    assert response.status_code == 302, error_code(response)
    expires_at = TokenSet.objects.get().expires_at
    assert timezone.now() - timedelta(seconds=5) <= expires_at <= timezone.now() + timedelta(days=367)


@pytest.mark.parametrize("depth", [100_000])
def test_c15_deeply_nested_json_is_refused(flow, depth):
    params = flow.start()
    flow.fake.token_body = '{"a":' * depth + "1" + "}" * depth
    response = flow.callback(params)
    assert response.status_code == 502  # a clear page: the provider sent something unusable
    assert error_code(response) == "malformed_response"


def test_c15_a_non_ascii_access_token_with_at_hash_is_refused(flow):
    params = flow.start()
    token = "accès-" + "a" * 30
    body = flow.fake.issue_tokens()
    body["access_token"] = token
    body["id_token"] = flow.fake.id_token(at_hash="not-checked-anyway")
    flow.fake.token_body = json.dumps(body)
    response = flow.callback(params)
    assert response.status_code == 502  # a clear page: the provider sent something unusable
    assert error_code(response) == "malformed_response"


@pytest.mark.parametrize(
    "claims", [{"name": "Ada\u0000"}, {"address": {"street\u0000": "x"}}, {"groups": ["a\u0000"]}]
)
def test_c15_a_nul_in_any_claim_is_refused_before_the_database(flow, claims):
    flow.fake.userinfo = claims
    response = flow.login()
    assert response.status_code == 502  # a clear page: the provider sent something unusable
    assert error_code(response) == "malformed_response"
    assert SocialAccount.objects.count() == 0


def test_c15_an_error_report_shows_no_token_or_secret(flow, settings, monkeypatch):
    settings.DEBUG = False

    def fail(request, identity, adapter):
        raise RuntimeError("the site's own code failed after the code exchange")

    monkeypatch.setattr("client_app.internal.login._find_or_sign_up", fail)
    params = flow.start()
    with pytest.raises(RuntimeError) as caught:
        flow.callback(params)
    issued = list(flow.fake.refresh_tokens)  # one refresh token per issued set
    report = ExceptionReporter(None, caught.type, caught.value, caught.tb, is_email=True)
    # Every frame but the test's own, which holds the fake provider's tokens; "fail" receives the
    # identity with the token response inside, as a site's adapter code would.
    frames = [frame for frame in report.get_traceback_frames() if not frame["function"].startswith("test_")]
    assert {frame["function"] for frame in frames} >= {"get", "complete", "fail"}
    text = repr([frame["vars"] for frame in frames])
    assert "access-1-" not in text
    for refresh_token in issued:
        assert refresh_token not in text
    assert CLIENT_SECRET not in text


# C14 -------------------------------------------------------------------------------------------


def test_c14_an_answer_over_the_size_cap_is_refused(flow, settings):
    settings.CLIENT_APP_HTTP_MAX_RESPONSE_BYTES = 4096
    params = flow.start()
    flow.fake.token_body = _token_body(flow, padding="x" * 10_000)
    response = flow.callback(params)
    assert response.status_code == 502  # a clear page: the provider sent something unusable
    assert error_code(response) == "response_too_large"


def test_c14_a_slow_trickle_is_cut_at_the_total_deadline(settings, live_trickle_server):
    settings.CLIENT_APP_HTTP_DEADLINE = 1.0
    settings.CLIENT_APP_HTTP_TIMEOUT = (2.0, 2.0)  # each byte arrives well within the read timeout
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        http.get_json(live_trickle_server, what="discovery")
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 2.5  # the deadline, not 40 bytes x 0.2 s


def test_c14_headers_sent_slowly_are_cut_at_the_total_deadline(settings):
    settings.CLIENT_APP_HTTP_DEADLINE = 1.0
    settings.CLIENT_APP_HTTP_TIMEOUT = (2.0, 2.0)
    with trickle_server(b"{}", slow_headers=True) as url:  # about 90 bytes of status line and headers
        started = time.monotonic()
        with pytest.raises(ProviderError) as caught:
            http.get_json(f"{url}/.well-known/openid-configuration", what="discovery")
        assert caught.value.code == "timeout"
        assert time.monotonic() - started < 1.8  # the deadline, not 90 bytes x 0.2 s


def test_c14_the_refresh_claim_outlives_every_call_of_a_refresh(settings):
    settings.CLIENT_APP_HTTP_DEADLINE = 20.0
    assert token_store.claim_seconds() > token_store.REFRESH_CALLS * 20.0


@pytest.fixture
def live_trickle_server():
    """A real HTTP server that sends a JSON answer one byte every 0.2 s."""
    body = b'{"issuer": "https://op.example", "padding": "' + b"x" * 40 + b'"}'
    with trickle_server(body) as url:
        yield f"{url}/.well-known/openid-configuration"
