"""resource_app.calls: service A calls service B for the user (RFC 8693 token exchange) or as
itself (client_credentials), with a token made for B, kept until shortly before it expires, and a
session with a deadline and a size cap."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs

import pytest
import requests
import responses
import time_machine
from django.test import RequestFactory

from resource_app.calls import ResponseTooLarge, as_service, for_user
from resource_app.exceptions import ServiceCallError, TokenRequestFailed, TokenRequestRefused
from resource_app.internal.service_tokens import kept
from resource_app.tokens import ValidatedToken
from tests.processes import trickle_server
from tests.resource_app.conftest import AUDIENCE, TOKEN_ENDPOINT

FILES = "https://files.example.com/"
FILES_API = FILES + "api/files/"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
USER_TOKEN = "the-users-token-for-notes-0123456789"


@pytest.fixture(autouse=True)
def service(settings, provider):
    settings.RESOURCE_APP_CLIENT_ID, settings.RESOURCE_APP_CLIENT_SECRET = "notes-service", "notes-secret"
    kept.forget()
    tokens = TokenEndpoint()
    provider.mocked.add_callback(responses.POST, TOKEN_ENDPOINT, callback=tokens)
    provider.mocked.add(responses.GET, FILES_API, json={"files": []})
    provider.tokens = tokens
    yield provider
    kept.forget()


class TokenEndpoint:
    """The provider's token endpoint: issues numbered tokens, remembers each request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer: tuple[int, dict] | None = None
        self.expires_in = 300

    def __call__(self, request):
        form = {name: values[0] for name, values in parse_qs(request.body).items()}
        scheme, _, credentials = request.headers["Authorization"].partition(" ")
        form["_client"] = base64.b64decode(credentials).decode() if scheme == "Basic" else None
        self.requests.append(form)
        if self.answer:
            return self.answer[0], {}, json.dumps(self.answer[1])
        body = {
            "access_token": f"token-{len(self.requests)}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if form["grant_type"] == EXCHANGE:
            body["issued_token_type"] = ACCESS_TOKEN
        return 200, {"Cache-Control": "no-store"}, json.dumps(body)


def _request(token: str = USER_TOKEN, *, expires_at: float | None = None):
    """A request whose bearer token this service accepted (as its authentication classes leave it)."""
    request = RequestFactory().get("/notes/", HTTP_AUTHORIZATION=f"Bearer {token}")
    request.access_token = ValidatedToken(
        subject="user-42", client_id="web-client", scopes=frozenset({"notes:read"}), audiences=(AUDIENCE,),
        expires_at=expires_at or time.time() + 3600, mode="jwt",
    )  # fmt: skip
    return request


def _sent_token(service) -> str:
    return service.mocked.calls[-1].request.headers["Authorization"]


def test_for_user_exchanges_the_callers_token_for_one_made_for_the_target(service):
    answer = for_user(_request(), FILES, scope="files:read").get(FILES_API)
    assert answer.status_code == 200 and answer.json() == {"files": []}
    assert _sent_token(service) == "Bearer token-1"  # never the user's token itself
    assert service.tokens.requests == [
        {
            "grant_type": EXCHANGE,
            "subject_token": USER_TOKEN,
            "subject_token_type": ACCESS_TOKEN,
            "requested_token_type": ACCESS_TOKEN,
            "resource": FILES,
            "scope": "files:read",
            "_client": "notes-service:notes-secret",
        }
    ]


def test_the_exchanged_token_is_kept_per_user_target_and_scope_until_shortly_before_it_expires(service):
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        for _ in range(3):
            for_user(_request(), FILES, scope="files:read").get(FILES_API)
        assert len(service.tokens.requests) == 1  # one exchange for three calls
        for_user(_request("another-users-token-0123456789"), FILES, scope="files:read")
        for_user(_request(), "https://audit.example.com/", scope="files:read")
        for_user(_request(), FILES, scope="files:write")
        assert len(service.tokens.requests) == 4
        clock.shift(269)  # 300 s lifetime, replaced 30 s before it expires
        for_user(_request(), FILES, scope="files:read")
        assert len(service.tokens.requests) == 4
        clock.shift(2)
        for_user(_request(), FILES, scope="files:read")
        assert len(service.tokens.requests) == 5
    assert not any(USER_TOKEN in key for key in kept.keys())  # kept under a digest


def test_a_token_without_a_lifetime_is_not_kept(service):
    service.tokens.expires_in = None
    for_user(_request(), FILES)
    for_user(_request(), FILES)
    assert len(service.tokens.requests) == 2


def test_as_service_uses_client_credentials_for_the_target(service):
    for _ in range(2):
        as_service(FILES, scope="files:read").get(FILES_API)
    assert _sent_token(service) == "Bearer token-1"
    assert service.tokens.requests == [
        {
            "grant_type": "client_credentials",
            "resource": FILES,
            "scope": "files:read",
            "_client": "notes-service:notes-secret",
        }
    ]


def test_a_refused_exchange_says_why(service):
    service.tokens.answer = (
        400,
        {"error": "invalid_target", "error_description": "not allowed to call files"},
    )
    with pytest.raises(TokenRequestRefused) as refused:
        for_user(_request(), FILES)
    assert refused.value.error == "invalid_target" and USER_TOKEN not in str(refused.value)
    assert isinstance(refused.value, ServiceCallError)
    assert kept.keys() == []  # nothing kept after a refusal


@pytest.mark.parametrize(
    "answer",
    [
        (500, {"error": "server_error"}),
        (
            200,
            {
                "access_token": "token\r\nX-Injected: 1",
                "token_type": "Bearer",
                "issued_token_type": ACCESS_TOKEN,
            },
        ),
        (200, {"access_token": 42, "token_type": "Bearer", "issued_token_type": ACCESS_TOKEN}),
        (200, {"access_token": "t" * 9000, "token_type": "Bearer", "issued_token_type": ACCESS_TOKEN}),
        (200, {"access_token": "abc", "token_type": "N_A", "issued_token_type": ACCESS_TOKEN}),
        (200, {"access_token": "abc", "token_type": "Bearer", "issued_token_type": "urn:x:id_token"}),
        (200, {"access_token": "abc", "token_type": "Bearer"}),
        (302, {}),
    ],
    ids=[
        "500",
        "header-injection",
        "not-a-string",
        "huge",
        "not-bearer",
        "id-token",
        "no-issued-type",
        "redirect",
    ],
)
def test_an_unusable_answer_fails_the_call_without_leaking_the_token(service, answer):
    service.tokens.answer = answer
    with pytest.raises(TokenRequestFailed) as failed:
        for_user(_request(), FILES)
    assert USER_TOKEN not in str(failed.value)


def test_the_provider_down_fails_the_call(service):
    service.down = True
    with pytest.raises(TokenRequestFailed):
        for_user(_request(), FILES)


def test_only_a_token_this_service_accepted_can_be_acted_for(service):
    unchecked = RequestFactory().get("/notes/", HTTP_AUTHORIZATION=f"Bearer {USER_TOKEN}")
    for request in (RequestFactory().get("/notes/"), unchecked):
        with pytest.raises(ServiceCallError):
            for_user(request, FILES)
    assert service.tokens.requests == []


def test_the_exchanged_token_is_not_kept_past_the_callers_token(service):
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        for_user(_request(expires_at=1_800_000_060), FILES)  # the caller's token: one more minute
        clock.shift(59)
        for_user(_request(expires_at=1_800_000_060), FILES)
        assert len(service.tokens.requests) == 1
        clock.shift(2)
        for_user(_request(expires_at=1_800_000_060), FILES)
        assert len(service.tokens.requests) == 2


def test_no_two_requests_share_a_kept_token(service):
    as_service(FILES + "\nfiles:write", scope="x", base_url=FILES)
    as_service(FILES, scope="files:write\nx")
    assert len(service.tokens.requests) == 2


def test_the_token_goes_to_its_service_only(service):
    session = for_user(_request(), FILES)
    for url in (
        "https://evil.example/steal",
        "http://files.example.com/api/files/",
        "https://files.example.com:8443/",
    ):
        with pytest.raises(ServiceCallError):
            session.get(url)
    other = requests.Request("GET", "https://evil.example/steal")
    with pytest.raises(ServiceCallError):
        session.send(session.prepare_request(other))
    assert not [c for c in service.mocked.calls if "evil" in c.request.url]
    with pytest.raises(ServiceCallError):  # a URN names no place to send it: say where
        as_service("urn:example:files")
    assert as_service("urn:example:files", base_url=FILES).get(FILES_API).status_code == 200


def test_a_service_answering_too_much_is_cut_at_the_size_cap(service, settings):
    settings.RESOURCE_APP_CALL_MAX_RESPONSE_BYTES = 1000
    service.mocked.replace(responses.GET, FILES_API, body=b"x" * 5000)
    with pytest.raises(ResponseTooLarge):
        as_service(FILES).get(FILES_API)


def test_a_service_answering_slowly_is_cut_at_the_deadline(service, settings):
    settings.RESOURCE_APP_CALL_DEADLINE, settings.RESOURCE_APP_HTTP_TIMEOUT = 1.0, 2.0
    service.mocked.add_passthru("http://127.0.0.1")
    with trickle_server(b'{"padding": "' + b"x" * 40 + b'"}') as url:
        session = as_service(FILES, base_url=url)
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            session.get(url + "/api/files/")
        assert time.monotonic() - started < 3.5  # the deadline (1 s) plus one read at most


def test_a_service_sending_its_headers_slowly_is_cut_at_the_deadline(service, settings):
    settings.RESOURCE_APP_CALL_DEADLINE, settings.RESOURCE_APP_HTTP_TIMEOUT = 1.0, 2.0
    service.mocked.add_passthru("http://127.0.0.1")
    with trickle_server(b"{}", slow_headers=True) as url:  # about 90 bytes of headers: 18 s
        session = as_service(FILES, base_url=url)
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            session.get(url + "/api/files/")
        assert time.monotonic() - started < 1.8


def test_the_session_does_not_follow_redirects_with_the_token(service):
    elsewhere = {"Location": "https://elsewhere.example/"}
    service.mocked.replace(responses.GET, FILES_API, status=302, headers=elsewhere)
    session = as_service(FILES)
    assert session.get(FILES_API).status_code == 302
    sent = session.send(session.prepare_request(requests.Request("GET", FILES_API)), allow_redirects=True)
    assert sent.status_code == 302 and not [c for c in service.mocked.calls if "elsewhere" in c.request.url]


def test_the_size_cap_holds_for_send_too(service, settings):
    settings.RESOURCE_APP_CALL_MAX_RESPONSE_BYTES = 1000
    service.mocked.replace(responses.GET, FILES_API, body=b"x" * 5000)
    session = as_service(FILES)
    with pytest.raises(ResponseTooLarge):
        session.send(session.prepare_request(requests.Request("GET", FILES_API)), stream=True)


def test_a_connect_and_read_timeout_pair_is_capped_by_the_deadline(service, settings):
    settings.RESOURCE_APP_CALL_DEADLINE = 3.0
    assert as_service(FILES).get(FILES_API, timeout=(1.0, 60.0)).status_code == 200
