"""C10 and the site API: expired tokens are refreshed transparently; the rotated refresh token
replaces the old one atomically; concurrent refreshes do not lose the token set."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.db import connection
from django.utils import timezone

from client_app import api
from client_app.exceptions import ProviderError, ReauthenticationRequired
from client_app.internal import token_store
from client_app.models import SocialAccount, TokenSet
from client_app.signals import tokens_refreshed


@pytest.fixture
def logged_in(flow):
    flow.login()
    return SocialAccount.objects.get().user


def expire_tokens() -> None:
    TokenSet.objects.update(expires_at=timezone.now() - timedelta(seconds=5))


def refresh_calls(fake) -> list[dict[str, str]]:
    forms = [{k: v[0] for k, v in parse_qs(r.body).items()} for r in fake.token_requests]
    return [form for form in forms if form["grant_type"] == "refresh_token"]


@pytest.mark.django_db
def test_c10_valid_token_is_used_without_refresh(flow, logged_in):
    assert api.get_access_token(logged_in, "example").startswith("access-1-")
    assert refresh_calls(flow.fake) == []


@pytest.mark.django_db
def test_c10_expired_token_is_refreshed_and_rotated_atomically(flow, logged_in):
    old = TokenSet.objects.get()
    expire_tokens()
    refreshed = []
    tokens_refreshed.connect(lambda **kw: refreshed.append(kw), weak=False, dispatch_uid="c10")
    try:
        headers = api.authorization_headers(logged_in, "example")
    finally:
        tokens_refreshed.disconnect(dispatch_uid="c10")
    assert headers == {"Authorization": "Bearer " + TokenSet.objects.get().access_token}
    new = TokenSet.objects.get()
    assert new.access_token.startswith("access-2-") and new.refresh_token.startswith("refresh-2-")
    assert new.version == old.version + 1
    assert new.id_token == old.id_token  # no new ID token: the old one stays
    (call,) = refresh_calls(flow.fake)
    assert call["refresh_token"] == old.refresh_token
    assert refreshed and refreshed[0]["user"] == logged_in


@pytest.mark.django_db
def test_c10_a_request_that_waited_uses_the_token_another_one_refreshed(flow, logged_in):
    expire_tokens()
    stale = TokenSet.objects.get()  # request A read the expired set...
    token_store.refresh(TokenSet.objects.get())  # ...request B refreshed it meanwhile
    result = token_store.refresh(stale)  # A gets the lock after B
    assert result.access_token.startswith("access-2-")
    assert len(refresh_calls(flow.fake)) == 1  # the used-up refresh token was never sent again
    assert flow.fake.refresh_tokens[result.refresh_token] is True


@pytest.mark.postgres  # the in-memory SQLite test database locks whole tables and fails at once
@pytest.mark.django_db(transaction=True)
def test_c10_concurrent_refreshes_do_not_lose_the_token_set(flow, logged_in):
    expire_tokens()
    original = flow.fake._token

    def slow_token(request):
        time.sleep(0.3)  # widen the race window
        return original(request)

    flow.fake.mock.remove(responses.POST, f"{flow.fake.issuer}/token")
    flow.fake.mock.add_callback(responses.POST, f"{flow.fake.issuer}/token", slow_token)
    results, errors = [], []

    def worker():
        try:
            results.append(api.get_access_token(logged_in, "example"))
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert len(refresh_calls(flow.fake)) == 1
    assert TokenSet.objects.get().access_token == results[0]


@pytest.mark.django_db
def test_c10_revoked_refresh_token_raises_and_forgets_the_tokens(flow, logged_in):
    expire_tokens()
    flow.fake.refresh_tokens = {}  # the provider revoked everything
    with pytest.raises(ReauthenticationRequired) as raised:
        api.get_access_token(logged_in, "example")
    assert raised.value.code == "invalid_grant"
    assert not TokenSet.objects.exists()
    with pytest.raises(ReauthenticationRequired):
        api.get_access_token(logged_in, "example")


@pytest.mark.django_db
def test_c10_missing_refresh_token_raises(flow, logged_in):
    TokenSet.objects.update(refresh_token="", expires_at=timezone.now() - timedelta(seconds=5))
    with pytest.raises(ReauthenticationRequired) as raised:
        api.get_access_token(logged_in, "example")
    assert raised.value.code == "no_refresh"


@pytest.mark.django_db
def test_c10_network_failure_keeps_the_tokens(flow, logged_in):
    expire_tokens()
    flow.fake.mock.remove(responses.POST, f"{flow.fake.issuer}/token")
    flow.fake.mock.add(responses.POST, f"{flow.fake.issuer}/token", body=requests.Timeout("slow"))
    with pytest.raises(ProviderError):
        api.get_access_token(logged_in, "example")
    assert TokenSet.objects.get().refresh_token.startswith("refresh-1-")


@pytest.mark.django_db
def test_c10_refreshed_id_token_about_another_user_is_refused(flow, logged_in):
    expire_tokens()
    original = flow.fake.issue_tokens

    def with_foreign_id_token(**kwargs):
        body = original(**kwargs)
        body["id_token"] = flow.fake.id_token(sub="someone-else", nonce=None)
        return body

    flow.fake.issue_tokens = with_foreign_id_token
    from client_app.exceptions import InvalidIdToken

    with pytest.raises(InvalidIdToken):
        api.get_access_token(logged_in, "example")


@pytest.mark.django_db
def test_no_token_set_raises(user, provider):
    with pytest.raises(ReauthenticationRequired) as raised:
        api.get_access_token(user, provider)
    assert raised.value.code == "no_tokens"


@pytest.mark.django_db
def test_authorized_session_sends_the_current_token_in_the_header(flow, logged_in):
    flow.fake.mock.add(responses.GET, "https://api.example.com/me", json={"ok": True})
    session = api.authorized_session(logged_in, "example")
    assert session.get("https://api.example.com/me").json() == {"ok": True}
    call = flow.fake.mock.calls[-1]
    assert call.request.headers["Authorization"] == "Bearer " + TokenSet.objects.get().access_token
    assert call.request.req_kwargs["timeout"] is not None
    assert "access_token" not in call.request.url


@pytest.mark.django_db
def test_authorized_session_refreshes_once_on_invalid_token(flow, logged_in):
    calls = []

    def resource(request):
        calls.append(request.headers["Authorization"])
        if len(calls) == 1:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, ""
        return 200, {"Content-Type": "application/json"}, '{"ok": true}'

    flow.fake.mock.add_callback(responses.GET, "https://api.example.com/me", resource)
    response = api.authorized_session(logged_in, "example").get("https://api.example.com/me")
    assert response.status_code == 200
    assert calls[0] != calls[1] == "Bearer " + TokenSet.objects.get().access_token
    assert len(refresh_calls(flow.fake)) == 1


@pytest.mark.django_db
def test_authorized_session_does_not_loop_on_401(flow, logged_in):
    flow.fake.mock.add(
        responses.GET,
        "https://api.example.com/me",
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
    response = api.authorized_session(logged_in, "example").get("https://api.example.com/me")
    assert response.status_code == 401
    assert len(refresh_calls(flow.fake)) == 1
