"""P23: the shared cache fails closed. Whatever happens to Redis (a restart from a snapshot older
than a revocation, a failover to a replica that missed it, a flush followed by a stale write, an
outage, a write that failed), a token revoked, a user deactivated or a client changed in the
database is never served from a cache; while Redis is down, revocation, logout and refresh work.

Each test runs its own redis-server (``tests/provider_app/redis_server.py``) so that it can crash,
restart, pause or flush it without touching the machine's Redis.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import AccessToken

from bench.fixtures import issue_access_token
from provider_app.internal import cache_outbox, shared_cache, token_cache
from provider_app.internal import local_cache as token_local_cache
from provider_app.internal.clients import generate_client_secret
from provider_app.models import PendingCacheInvalidation
from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    api_me,
    authorize_and_exchange,
    basic_auth,
    client_credentials,
    post_refresh,
    rp_logout,
)
from tests.provider_app.redis_server import RedisServer

LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "p23"}
RECHECK = 0.3


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "primary").start()
    yield server
    server.crash()


def _caches_on(server: RedisServer, **settings):
    """Token and client caches on ``server`` (the local layer on, as in production)."""
    return override_settings(
        CACHES={"default": LOCAL, "tokens": server.cache_settings()},
        PROVIDER_APP_TOKEN_CACHE="tokens",
        PROVIDER_APP_TOKEN_CACHE_RECHECK=RECHECK,
        **settings,
    )


@pytest.fixture(autouse=True)
def _fresh_process_state():
    token_local_cache.close()
    cache_outbox.forget_state()
    yield
    token_local_cache.close()
    cache_outbox.forget_state()


@pytest.fixture
def token(user, application):
    value, _ = issue_access_token(application, user, "openid profile email", with_refresh=True)
    return value


def _me(token, **extra):
    return api_me(Client(), token, **extra)


def _served_from_the_cache(token) -> None:
    """A second call reads neither the token nor its user from the database. The periodic look at
    the recorded invalidations (one query every ``RECHECK`` seconds) may fall between the two calls
    on a loaded machine; it is the only query allowed."""
    assert _me(token).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert _me(token).status_code == 200
    outbox_table = PendingCacheInvalidation._meta.db_table
    assert [q["sql"] for q in queries.captured_queries if outbox_table not in q["sql"]] == []


def _revoke(application, token):
    return Client().post(
        "/o/revoke_token/",
        {"token": token, "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, application.raw_secret),
    )


def _raw_entry_exists(server: RedisServer, token) -> bool:
    """The revoked token's entry is physically in Redis (what the cache must refuse to serve)."""
    return any(server.client().scan_iter(match=f"*{token_cache.KEY_PREFIX}{token_cache.checksum(token)}"))


def test_p23_restart_from_a_snapshot_older_than_the_revocation(redis_server, token, application):
    with _caches_on(redis_server):
        _served_from_the_cache(token)
        redis_server.snapshot()  # Redis's save rules wrote the entry to disk ...
        assert _revoke(application, token).status_code == 200  # ... then the token was revoked
        assert _me(token).status_code == 401
        redis_server.restart()  # a crash: Redis comes back from the snapshot, the entry with it
        assert _raw_entry_exists(redis_server, token)
        assert _me(token).status_code == 401
        assert _me(token).status_code == 401


def test_p23_failover_to_a_replica_that_missed_the_revocation(redis_server, tmp_path, token, application):
    replica = RedisServer(tmp_path / "replica").start()
    try:
        replica.client().replicaof("127.0.0.1", redis_server.port)
        with _caches_on(redis_server):
            _served_from_the_cache(token)
            deadline = time.monotonic() + 10
            while not _raw_entry_exists(replica, token):  # the replica has the entry ...
                assert time.monotonic() < deadline, "the replica never caught up"
                time.sleep(0.05)
            replica.client().replicaof("no", "one")  # ... and loses the link before the revocation
            assert _revoke(application, token).status_code == 200
        with _caches_on(replica):  # the replica is promoted; the workers now use it
            assert _raw_entry_exists(replica, token)
            assert _me(token).status_code == 401
    finally:
        replica.crash()


def test_p23_a_flush_cannot_let_a_reader_put_back_a_row_read_before_the_revocation(redis_server, token):
    with _caches_on(redis_server):
        cache = token_cache.token_cache()
        token_checksum = token_cache.checksum(token)
        found = token_cache.BEARER_TOKENS.lookup(cache, token_checksum)  # a reader misses ...
        assert found.entry is None
        row = AccessToken.objects.select_related("user").get(token_checksum=token_checksum)  # ... reads
        row.delete()  # the revocation commits, its invalidation reaches Redis
        redis_server.client().flushall()  # someone flushes Redis (its permits with everything else)
        token_cache.remember(cache, found, row)  # the slow reader writes what it read
        assert not _raw_entry_exists(redis_server, token)
        assert _me(token).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_p23_while_redis_is_down_revocation_logout_and_refresh_succeed(redis_server, user):
    application, signed_out_of = ApplicationFactory(), ApplicationFactory()
    with _caches_on(redis_server, PROVIDER_APP_LOGOUT_REVOKES_CLIENT_TOKENS=True):
        browser = Client()
        browser.force_login(user)
        tokens = [
            authorize_and_exchange(browser, application)[1],
            authorize_and_exchange(browser, application)[1],
            authorize_and_exchange(browser, signed_out_of)[1],
        ]
        for issued in tokens:
            _served_from_the_cache(issued["access_token"])
        redis_server.crash()  # down: nothing answers on its port
        started = time.monotonic()
        revoked, refreshed, logged_out = tokens

        assert _revoke(application, revoked["access_token"]).status_code == 200
        refresh = post_refresh(Client(), application, refreshed["refresh_token"], basic=True)
        assert refresh.status_code == 200, refresh.content
        _confirm, response = rp_logout(browser, {"id_token_hint": logged_out["id_token"]})
        assert response.status_code == 302
        # No change was answered before every process had looked at its record (one interval).
        assert time.monotonic() - started >= RECHECK
        assert PendingCacheInvalidation.objects.exists()

        for old in (revoked["access_token"], refreshed["access_token"], logged_out["access_token"]):
            assert _me(old).status_code == 401
        assert _me(refresh.json()["access_token"]).status_code == 200  # the database answers

        redis_server.start()  # back, from the old snapshot or empty: either way consistent
        time.sleep(RECHECK)
        assert _me(refreshed["access_token"]).status_code == 401
        assert not PendingCacheInvalidation.objects.exists()  # applied by the first look
        _served_from_the_cache(refresh.json()["access_token"])


@pytest.mark.django_db(transaction=True)
def test_p23_a_revocation_while_redis_hangs_is_applied_before_the_entry_is_served_again(redis_server, user):
    """Redis stops answering (no restart, same run, the entry stays) while a token is revoked."""
    application = ApplicationFactory()
    token, _ = issue_access_token(application, user, "openid profile", with_refresh=True)
    with _caches_on(redis_server):
        _served_from_the_cache(token)
        redis_server.pause()
        try:
            assert _revoke(application, token).status_code == 200  # times out on Redis, still revokes
        finally:
            redis_server.resume()
        cache_outbox.forget_state()  # as another process would, at its next look
        assert _me(token).status_code == 401
        assert not _raw_entry_exists(redis_server, token)
        assert not PendingCacheInvalidation.objects.exists()


def _failing_invalidation(monkeypatch):
    """Redis refuses this process's invalidations (reads still work): one failed write."""
    calls = []

    def refuse(self, names, message):
        calls.append(names)
        raise ConnectionError("the write failed")

    monkeypatch.setattr(shared_cache.RedisStore, "invalidate", refuse)
    return calls


def _another_process_looks(monkeypatch):
    """What another process does at its next look: Redis takes writes again, the record is applied."""
    monkeypatch.undo()
    cache_outbox.forget_state()


@pytest.mark.django_db(transaction=True)
def test_p23_a_user_deactivated_outside_a_transaction_while_the_write_fails(redis_server, user, monkeypatch):
    application = ApplicationFactory()
    token, _ = issue_access_token(application, user, "openid profile", with_refresh=True)
    with _caches_on(redis_server):
        _served_from_the_cache(token)
        calls = _failing_invalidation(monkeypatch)
        user.is_active = False
        user.save()  # autocommit: committed before any signal; the invalidation fails
        assert calls
        assert _me(token).status_code == 401  # this process: caches off until the record is applied
        _another_process_looks(monkeypatch)
        assert _me(token).status_code == 401
        assert not PendingCacheInvalidation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_p23_a_client_secret_changed_while_the_write_fails(redis_server, monkeypatch):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    old_secret = service.raw_secret

    def token_request(secret):
        return client_credentials(Client(), service, secret, scope="profile")

    with _caches_on(redis_server):
        assert token_request(old_secret).status_code == 200
        assert token_request(old_secret).status_code == 200  # the client now comes from the cache
        _failing_invalidation(monkeypatch)
        service.client_secret = generate_client_secret()
        service.save()
        assert token_request(old_secret).status_code == 401
        _another_process_looks(monkeypatch)
        assert token_request(old_secret).status_code == 401
        assert not PendingCacheInvalidation.objects.exists()


def test_p23_a_failed_invalidation_never_fails_the_revocation(redis_server, token, application, monkeypatch):
    with _caches_on(redis_server):
        _served_from_the_cache(token)
        _failing_invalidation(monkeypatch)
        assert _revoke(application, token).status_code == 200
        assert not AccessToken.objects.filter(token_checksum=token_cache.checksum(token)).exists()
        assert _me(token).status_code == 401
        assert PendingCacheInvalidation.objects.count() == 1
        record = PendingCacheInvalidation.objects.get()
        assert token not in record.names and token_cache.checksum(token) in record.names  # P16


def test_p23_only_redis_or_an_explicitly_allowed_local_cache_holds_tokens(db):
    database_cache = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}
    with override_settings(
        CACHES={"default": LOCAL, "tokens": database_cache}, PROVIDER_APP_TOKEN_CACHE="tokens"
    ):
        assert token_cache.token_cache() is None  # it cannot enforce the permit and run rules


@pytest.mark.django_db(transaction=True)
def test_p23_many_failed_invalidations_in_one_request_wait_once(redis_server, user):
    """A cascade (a deleted user's ten tokens) while Redis is down: one record, one wait."""
    application = ApplicationFactory()
    tokens = [issue_access_token(application, user, "profile", with_refresh=True)[0] for _ in range(10)]
    with _caches_on(redis_server):
        redis_server.crash()
        started = time.monotonic()
        user.delete()
        elapsed = time.monotonic() - started
        assert RECHECK <= elapsed < 3 * RECHECK
        assert PendingCacheInvalidation.objects.count() == 1
        recorded = PendingCacheInvalidation.objects.get().names.split()
        assert {token_cache.KEY_PREFIX + token_cache.checksum(t) for t in tokens} <= set(recorded)


@pytest.mark.django_db(transaction=True)
def test_p23_a_token_issued_while_the_user_is_being_deactivated_is_not_left_cached(redis_server, user):
    """The live tokens are listed again once the deactivation commits: one issued meanwhile goes too."""
    from django.db import transaction

    application = ApplicationFactory()
    with _caches_on(redis_server):
        cache = token_cache.token_cache()
        with transaction.atomic():
            user.is_active = False
            user.save()  # lists the user's live tokens now: none yet
            # Meanwhile another worker issues a token and a reader caches it with the user as it was
            # (still active: the deactivation is not committed).
            late, _ = issue_access_token(application, user, "openid profile", with_refresh=False)
            found = token_cache.BEARER_TOKENS.lookup(cache, token_cache.checksum(late))
            row = AccessToken.objects.select_related("user").get(token_checksum=token_cache.checksum(late))
            row.user.is_active = True
            token_cache.remember(cache, found, row)
            assert _raw_entry_exists(redis_server, late)
        assert not _raw_entry_exists(redis_server, late)
        assert _me(late).status_code == 401


def test_p23_a_former_master_promoted_again_serves_nothing_it_held_before(
    redis_server, tmp_path, token, application
):
    """A -> B failover, A rejoins as B's replica, then A is promoted again: same run_id, new run."""
    other = RedisServer(tmp_path / "other").start()
    try:
        with _caches_on(redis_server):
            _served_from_the_cache(token)
        other.client().replicaof("127.0.0.1", redis_server.port)
        deadline = time.monotonic() + 10
        while not _raw_entry_exists(other, token):
            assert time.monotonic() < deadline, "the replica never caught up"
            time.sleep(0.05)
        other.client().replicaof("no", "one")  # B promoted; the revocation below reaches only A
        with _caches_on(redis_server):
            assert _revoke(application, token).status_code == 200
        redis_server.client().replicaof("127.0.0.1", other.port)  # A rejoins as B's replica ...
        deadline = time.monotonic() + 10
        while not _raw_entry_exists(redis_server, token):  # ... and gets the entry back from B
            assert time.monotonic() < deadline, "A never caught up with B"
            time.sleep(0.05)
        redis_server.client().replicaof("no", "one")  # B fails: A is promoted again
        with _caches_on(redis_server):
            assert _me(token).status_code == 401
    finally:
        other.crash()
