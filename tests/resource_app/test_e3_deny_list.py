"""E3: a token revoked by an event is refused by the next request of the worker that received it,
by every other worker after one sync interval, until the entry expires; a worker that cannot read
the deny-list answers 503 rather than accept. "Workers" are DenyList copies with clocks the test
moves (no timed assertion); the list they share is the test database."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, models
from django.utils import timezone

from resource_app.exceptions import DenyListUnavailable, InvalidToken
from resource_app.internal.deny_list import DenyList, deny_list
from resource_app.models import Revocation
from resource_app.tokens import ValidatedToken
from resource_app.validation import validate_token
from tests.resource_app.conftest import ISSUER, SESSION_REVOKED, mint, mint_set

pytestmark = pytest.mark.django_db

URLS = ("/notes/", "/plain/notes/")
SET_MEDIA_TYPE = "application/secevent+jwt"


def _get(client, url, token):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def _revoke(client, subject, **event):
    response = client.generic(
        "POST", "/events/", mint_set(subject, event=event or None), content_type=SET_MEDIA_TYPE
    )
    assert response.status_code == 202, response.content


def _jwt_id(jti):
    return {"format": "jwt_id", "iss": ISSUER, "jti": jti}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(jti="t-1", sub="user-42", iat=None) -> ValidatedToken:
    claims = {"jti": jti, "sub": sub, "iat": time.time() if iat is None else iat}
    return ValidatedToken.from_claims(claims, mode="jwt")


@pytest.mark.parametrize("url", URLS)
def test_e3_a_token_accepted_then_revoked_is_refused_at_the_next_request(client, provider, url):
    jti = uuid.uuid4().hex
    token = mint({"jti": jti})
    assert _get(client, url, token).status_code == 200  # now kept verified in this process
    _revoke(client, _jwt_id(jti))
    response = _get(client, url, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert _get(client, url, mint()).status_code == 200  # other tokens are not touched


def test_e3_the_verified_token_cache_does_not_hide_a_revocation(client, provider):
    jti = uuid.uuid4().hex
    raw = mint({"jti": jti})
    validate_token(raw)
    _revoke(client, _jwt_id(jti))
    with pytest.raises(InvalidToken):
        validate_token(raw)


def test_e3_another_worker_refuses_after_one_sync_interval(client, provider, settings):
    settings.RESOURCE_APP_DENY_LIST_SYNC_SECONDS = 0.5
    clock = Clock()
    other_worker = DenyList(clock=clock)
    token = _token(jti=uuid.uuid4().hex)
    other_worker.check(token)  # its first look: nothing revoked
    _revoke(client, _jwt_id(token.claims["jti"]))  # received by this worker, not the other one
    clock.now += 0.2
    other_worker.check(token)  # within the interval it has not looked again
    clock.now += 0.3
    with pytest.raises(InvalidToken):
        other_worker.check(token)


def test_e3_a_fresh_worker_loads_every_entry_still_in_force(client, provider):
    jti = uuid.uuid4().hex
    _revoke(client, _jwt_id(jti))
    with pytest.raises(InvalidToken):
        DenyList(clock=Clock()).check(_token(jti=jti))


def test_e3_a_sync_reads_only_recent_rows_with_one_query(client, provider, django_assert_num_queries):
    clock = Clock()
    worker = DenyList(clock=clock)
    worker.check(_token())
    clock.now += 1
    with django_assert_num_queries(1) as captured:
        worker.check(_token())
    assert "recorded_at" in captured.captured_queries[0]["sql"]
    with django_assert_num_queries(0):
        worker.check(_token())  # within the interval: a dict lookup, no query


def test_e3_a_row_committed_late_is_still_seen(client, provider):
    # A receiver's transaction may commit after a later row was read: its recorded_at is older.
    clock = Clock()
    worker = DenyList(clock=clock)
    _revoke(client, _jwt_id("later"))
    worker.check(_token())
    late = Revocation.objects.create(
        kind="jti",
        value="earlier",
        recorded_at=timezone.now() - timedelta(seconds=2),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    clock.now += 1
    with pytest.raises(InvalidToken):
        worker.check(_token(jti=late.value))


def test_e3_a_subject_event_refuses_older_tokens_of_the_subject_not_newer_ones(client, provider):
    now = int(time.time())
    older = mint({"sub": "user-42", "iat": now - 60})
    other_user = mint({"sub": "user-7", "iat": now - 60})
    _revoke(client, {"format": "iss_sub", "iss": ISSUER, "sub": "user-42"}, event_timestamp=now - 30)
    assert _get(client, "/notes/", older).status_code == 401
    assert _get(client, "/notes/", mint({"sub": "user-42", "iat": now})).status_code == 200  # after it
    assert _get(client, "/notes/", other_user).status_code == 200


def test_e3_without_event_timestamp_the_sets_iat_is_the_time_of_revocation(client, provider):
    now = int(time.time())
    subject = {"format": "iss_sub", "iss": ISSUER, "sub": "user-42"}
    body = mint_set(subject, claims={"iat": now - 10, "events": {SESSION_REVOKED: {}}})
    assert client.generic("POST", "/events/", body, content_type=SET_MEDIA_TYPE).status_code == 202
    worker = DenyList(clock=Clock())
    with pytest.raises(InvalidToken):
        worker.check(_token(sub="user-42", iat=now - 10))  # at or before: refused
    worker.check(_token(sub="user-42", iat=now - 9))


@pytest.mark.parametrize("event_timestamp", [None, "yesterday", 4_102_444_800, float("inf")])
def test_e3_an_event_timestamp_that_is_not_a_past_time_is_refused(client, provider, event_timestamp):
    subject = {"format": "iss_sub", "iss": ISSUER, "sub": "user-42"}
    body = mint_set(subject, event={"event_timestamp": event_timestamp})
    response = client.generic("POST", "/events/", body, content_type=SET_MEDIA_TYPE)
    assert response.status_code == 400 and response.json()["err"] == "invalid_request"
    assert not Revocation.objects.exists()


def test_e3_the_deny_list_applies_in_introspection_mode_too(client, provider, settings):
    settings.RESOURCE_APP_MODE = "introspection"
    settings.RESOURCE_APP_CLIENT_ID, settings.RESOURCE_APP_CLIENT_SECRET = "notes-service", "secret"
    jti = uuid.uuid4().hex
    provider.introspection = {
        "active": True,
        "iss": ISSUER,
        "aud": "https://notes.example.com/",
        "sub": "user-42",
        "client_id": "web-client",
        "scope": "notes:read",
        "exp": int(time.time()) + 300,
        "jti": jti,
    }
    assert _get(client, "/notes/", "opaque-token-value").status_code == 200
    _revoke(client, _jwt_id(jti))
    assert _get(client, "/notes/", "opaque-token-value").status_code == 401


def test_e3_entries_expire_and_are_purged(client, provider, settings):
    settings.RESOURCE_APP_DENY_LIST_SECONDS = 0
    _revoke(client, _jwt_id("short-lived"))
    assert DenyList(clock=Clock()).is_revoked(_token(jti="short-lived")) is False
    _revoke(client, _jwt_id("next"))  # the next event removes what has expired
    assert not Revocation.objects.filter(value="short-lived").exists()


def test_e3_a_database_failure_never_turns_a_refusal_into_an_acceptance(client, provider, monkeypatch):
    clock = Clock()
    worker = DenyList(clock=clock)
    _revoke(client, _jwt_id("revoked"))
    worker.check(_token(jti="fine"))

    def broken(self):
        raise DatabaseError("the database is down")

    monkeypatch.setattr(DenyList, "_read", broken)
    for _ in range(9):  # within ten intervals the last copy decides: still refused
        clock.now += 0.5
        worker.check(_token(jti="fine"))
        with pytest.raises(InvalidToken):
            worker.check(_token(jti="revoked"))
    clock.now += 1
    with pytest.raises(DenyListUnavailable):  # then nothing is accepted: 503
        worker.check(_token(jti="fine"))
    monkeypatch.undo()
    clock.now += 0.5
    worker.check(_token(jti="fine"))  # the database is back


def test_e3_a_worker_that_never_read_the_list_answers_503(client, provider, monkeypatch):
    monkeypatch.setattr(DenyList, "_read", lambda self: (_ for _ in ()).throw(DatabaseError("down")))
    deny_list.forget()
    response = _get(client, "/notes/", mint())
    assert response.status_code == 503
    assert response["Retry-After"] and response["WWW-Authenticate"].startswith("Bearer ")


# In autocommit, as a service's requests run: the failed read aborts no transaction.
@pytest.mark.django_db(transaction=True)
def test_e3_an_unmigrated_service_refuses_every_token_and_logs_the_fix(client, provider, monkeypatch, caplog):
    # The deny-list's table is missing, as in a service whose `manage.py migrate` never ran.
    with monkeypatch.context() as patch:
        patch.setattr(Revocation._meta, "db_table", "resource_app_never_migrated")
        deny_list.forget()
        response = _get(client, "/notes/", mint())
        assert response.status_code == 503  # fail closed: never accepted because the table is missing
        assert response["WWW-Authenticate"].startswith("Bearer ")
        [error] = [record for record in caplog.records if record.name == "resource_app"]
        assert error.levelname == "ERROR" and "resource_app_never_migrated" in error.getMessage()
        assert "manage.py migrate" in error.getMessage()

        caplog.clear()  # said once a minute, not at every sync interval
        clock = Clock()
        worker = DenyList(clock=clock)
        for _ in range(3):
            worker.sync()
            clock.now += 1
        assert [record.levelname for record in caplog.records] == ["ERROR"]
        clock.now += 60
        worker.sync()
        assert [record.levelname for record in caplog.records] == ["ERROR", "ERROR"]
    deny_list.forget()
    assert _get(client, "/notes/", mint()).status_code == 200  # migrated: served


def test_e3_the_deny_list_can_be_turned_off_for_a_service_without_events(
    client, provider, settings, monkeypatch
):
    settings.RESOURCE_APP_DENY_LIST = False
    monkeypatch.setattr(DenyList, "_read", lambda self: (_ for _ in ()).throw(DatabaseError("no table")))
    deny_list.forget()
    assert _get(client, "/notes/", mint()).status_code == 200


def test_e3_the_database_clock_records_a_revocation(client, provider):
    # One clock for every host: the receiving worker's own clock never sets the workers' cursor.
    jti = uuid.uuid4().hex
    _revoke(client, _jwt_id(jti))
    row = Revocation.objects.get(value=jti)
    assert abs((row.recorded_at - timezone.now()).total_seconds()) < 60
    field = Revocation._meta.get_field("recorded_at")
    assert field.db_default is not models.NOT_PROVIDED and not field.has_default()


def test_e3_a_row_hidden_behind_the_cursor_is_found_by_the_next_full_reading(client, provider):
    from resource_app.internal.deny_list import PRUNE_SECONDS

    clock = Clock()
    worker = DenyList(clock=clock)
    _revoke(client, _jwt_id("seen"))
    worker.check(_token())  # the cursor is now at the newest row
    hidden = Revocation.objects.create(
        kind="jti",
        value=uuid.uuid4().hex,
        recorded_at=timezone.now() - timedelta(hours=1),  # a surprise: far behind the cursor
        expires_at=timezone.now() + timedelta(hours=1),
    )
    clock.now += 1
    worker.check(_token(jti=hidden.value))  # the incremental look does not reach it ...
    clock.now += PRUNE_SECONDS
    with pytest.raises(InvalidToken):  # ... the full reading does
        worker.check(_token(jti=hidden.value))
