"""The process-local layer in front of the shared token cache (provider_app.token_local_cache).

These tests need a real Redis: ``REDIS_URL``, else ``redis://127.0.0.1:6379/5`` if it answers.
A "worker" is a ``LocalTokenCache`` with its own subscription, as each gunicorn process has one;
requests are sent through a given worker by standing it in for this process's layer. The last test
runs real gunicorn worker processes (PostgreSQL and ``REDIS_URL``).
"""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings
from oauth2_provider.models import AccessToken

from bench.fixtures import issue_access_token
from provider_app.internal import local_cache as token_local_cache
from provider_app.internal import token_cache
from tests import stages
from tests.oauth_helpers import api_me, basic_auth, client_credentials, post_refresh
from tests.provider_app.security_helpers import gunicorn_server
from tests.stages import require_shared_redis

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"


def _redis_unavailable() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception as exc:
        reason = f"needs a Redis server: set REDIS_URL ({REDIS_URL} did not answer: {exc})"
        return stages.stage_reason(stages.REDIS, reason)
    return ""


pytestmark = pytest.mark.skipif(bool(reason := _redis_unavailable()), reason=reason or "Redis is up")

LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local-layer-tests"}
REDIS = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": REDIS_URL,
    "KEY_PREFIX": f"local-layer-tests-{uuid.uuid4().hex}",
}


@pytest.fixture(autouse=True)
def shared_token_cache():
    with override_settings(CACHES={"default": LOCAL, "tokens": REDIS}, PROVIDER_APP_TOKEN_CACHE="tokens"):
        token_local_cache.close()
        yield caches["tokens"]
        token_local_cache.close()


@pytest.fixture
def workers(shared_token_cache):
    """Make workers (``workers(liveness=...)``); their subscriptions are closed after the test."""
    made = []

    def make(**options) -> token_local_cache.LocalTokenCache:
        options = {"size": 100, "ttl": 60, "liveness": 2, **options}
        made.append(token_local_cache.LocalTokenCache(shared_token_cache, **options))
        return _ready(made[-1])

    yield make
    for worker in made:
        worker.close()


@pytest.fixture
def redis_reads(monkeypatch):
    """How many times the shared cache was read (one Redis round trip each)."""
    reads = []
    real_lookup = token_cache.lookup

    def counting_lookup(cache, key):
        reads.append(key)
        return real_lookup(cache, key)

    monkeypatch.setattr(token_cache, "lookup", counting_lookup)
    return reads


@pytest.fixture
def token(user, application):
    value, _ = issue_access_token(application, user, "openid profile email", with_refresh=True)
    return value


def _entry(token) -> dict:
    """What the shared cache holds for ``token``."""
    return token_cache.snapshot(
        AccessToken.objects.select_related("user").get(token_checksum=token_cache.checksum(token))
    )


def _ready(worker, timeout: float = 3.0):
    """Wait until the worker's subscription is confirmed and answered a PING."""
    deadline = time.monotonic() + timeout
    while worker.lookup("probe")[1] is None:
        assert time.monotonic() < deadline, "the subscription never became live"
        time.sleep(0.002)
    return worker


@contextmanager
def _on(worker):
    """Requests in this block are served by ``worker`` (as if by another process)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(token_local_cache, "for_cache", lambda cache: worker if cache is not None else None)
        yield


def _me(client, token, worker=None):
    if worker is None:
        return api_me(client, token)
    with _on(worker):
        return api_me(client, token)


def _cache_on(worker, client, token, redis_reads, django_assert_num_queries):
    assert _me(client, token, worker).status_code == 200
    del redis_reads[:]
    with django_assert_num_queries(0):
        assert _me(client, token, worker).status_code == 200
    assert redis_reads == []  # served by the worker's own copy
    assert worker.lookup(token_cache.checksum(token))[0] is not None


def test_second_request_needs_neither_a_query_nor_a_redis_get(
    client, token, user, redis_reads, django_assert_num_queries, shared_token_cache
):
    layer = _ready(token_local_cache.for_cache(shared_token_cache))  # this process's own layer
    assert _me(client, token).status_code == 200
    del redis_reads[:]
    with django_assert_num_queries(0):
        body = _me(client, token).json()
    assert redis_reads == []
    assert body["sub"] == str(user.pk) and body["email"] == user.email
    assert layer.lookup(token_cache.checksum(token))[0]["user"]["id"] == user.pk


def test_each_request_gets_its_own_instances(client, token, workers, redis_reads, django_assert_num_queries):
    worker = workers()
    _cache_on(worker, client, token, redis_reads, django_assert_num_queries)
    entry, _ = worker.lookup(token_cache.checksum(token))
    first, second = token_cache.access_token_from_entry(entry), token_cache.access_token_from_entry(entry)
    first.resource.append("https://elsewhere.example/")
    first.user.email = "changed@example.com"
    assert second.resource == [] and second.user.email != "changed@example.com"
    assert entry["resource"] == [] and entry["user"]["email"] != "changed@example.com"
    # The instances kept with the entry (token_cache.TEMPLATES) are only ever copied.
    third = token_cache.access_token_from_entry(entry)
    assert third.resource == [] and third.user.email != "changed@example.com"
    assert len({id(first.user), id(second.user), id(third.user)}) == 3


def test_p22_revocation_endpoint_refuses_the_token_on_every_worker(
    client, token, application, workers, redis_reads, django_assert_num_queries
):
    worker_a, worker_b = workers(), workers()
    _cache_on(worker_a, client, token, redis_reads, django_assert_num_queries)
    _cache_on(worker_b, client, token, redis_reads, django_assert_num_queries)
    response = client.post(
        "/o/revoke_token/",
        {"token": token, "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, application.raw_secret),
    )
    assert response.status_code == 200
    assert _me(client, token, worker_a).status_code == 401
    assert _me(client, token, worker_b).status_code == 401


def test_p22_deleted_token_is_refused_on_every_worker(
    client, token, workers, redis_reads, django_assert_num_queries
):
    worker_a, worker_b = workers(), workers()
    _cache_on(worker_a, client, token, redis_reads, django_assert_num_queries)
    _cache_on(worker_b, client, token, redis_reads, django_assert_num_queries)
    AccessToken.objects.get(token_checksum=token_cache.checksum(token)).delete()
    assert worker_a.lookup(token_cache.checksum(token))[0] is None
    assert _me(client, token, worker_b).status_code == 401


def test_p22_deactivated_user_is_refused_on_every_worker(
    client, token, user, workers, redis_reads, django_assert_num_queries
):
    worker_a = workers()
    _cache_on(worker_a, client, token, redis_reads, django_assert_num_queries)
    user.is_active = False
    user.save()
    assert _me(client, token, worker_a).status_code == 401


def test_p22_refresh_rotation_refuses_the_previous_access_token_on_every_worker(
    client, user, application, workers, redis_reads, django_assert_num_queries
):
    access, refresh = issue_access_token(application, user, "openid profile", with_refresh=True)
    worker_a = workers()
    _cache_on(worker_a, client, access, redis_reads, django_assert_num_queries)
    response = post_refresh(client, application, refresh, basic=True)
    assert response.status_code == 200
    assert _me(client, access, worker_a).status_code == 401
    assert _me(client, response.json()["access_token"], worker_a).status_code == 200


def test_flush_all_drops_every_workers_copies(client, token, workers, redis_reads, django_assert_num_queries):
    worker_a, worker_b = workers(), workers()
    _cache_on(worker_a, client, token, redis_reads, django_assert_num_queries)
    _cache_on(worker_b, client, token, redis_reads, django_assert_num_queries)
    token_cache.flush_all()
    for worker in (worker_a, worker_b):
        del redis_reads[:]
        assert _me(client, token, worker).status_code == 200
        assert len(redis_reads) == 1  # from the shared cache again


def test_changes_are_published_even_where_the_local_layer_is_off(
    client, token, workers, redis_reads, django_assert_num_queries
):
    worker_a = workers()  # another process, with the layer on
    _cache_on(worker_a, client, token, redis_reads, django_assert_num_queries)
    with override_settings(PROVIDER_APP_TOKEN_LOCAL_CACHE=False):
        AccessToken.objects.get(token_checksum=token_cache.checksum(token)).delete()
    assert _me(client, token, worker_a).status_code == 401


def test_an_invalidation_between_a_miss_and_the_store_prevents_the_store(token, workers):
    worker = workers()
    token_checksum = token_cache.checksum(token)
    entry = _entry(token)
    _, generation = worker.lookup(token_checksum)
    token_cache.invalidate_checksums([token_checksum])  # e.g. a revocation while the row was read
    worker.store(token_checksum, entry, generation)
    assert worker.lookup(token_checksum)[0] is None
    _, generation = worker.lookup(token_checksum)  # without an invalidation in between, it is stored
    worker.store(token_checksum, entry, generation)
    assert worker.lookup(token_checksum)[0] == entry


def test_p22_the_message_sent_on_commit_drops_a_copy_loaded_before_the_commit(
    token, workers, django_capture_on_commit_callbacks
):
    worker = workers()
    token_checksum = token_cache.checksum(token)
    row = AccessToken.objects.select_related("user").get(token_checksum=token_checksum)
    entry = _entry(token)
    with django_capture_on_commit_callbacks(execute=True):
        row.delete()  # tombstoned and published at once, committed at the end of the block
        _, generation = worker.lookup(token_checksum)  # a reader misses after that first message ...
        worker.store(token_checksum, entry, generation)  # ... and stores the row it read before the commit
        assert worker.lookup(token_checksum)[0] == entry
    assert worker.lookup(token_checksum)[0] is None


def test_entries_are_bounded_in_number_and_lifetime(token, workers):
    entry = _entry(token)
    worker = workers(size=2, ttl=0.2)
    for name in ("first", "second", "third"):
        worker.store(name, entry, worker.lookup(name)[1])
    kept = [name for name in ("first", "second", "third") if worker.lookup(name)[0] is not None]
    assert kept == ["second", "third"]  # the oldest went first
    time.sleep(0.25)
    assert worker.lookup("third")[0] is None


def _kill(worker) -> None:
    """Close the worker's subscription from the server side, as a Redis restart or failover would."""
    host, port = worker._pubsub.connection._sock.getsockname()[:2]
    redis.Redis.from_url(REDIS_URL).client_kill_filter(_type="pubsub", addr=f"{host}:{port}")


def test_a_dead_subscription_clears_the_entries_and_is_renewed(token, workers, monkeypatch):
    monkeypatch.setattr(token_local_cache, "RESUBSCRIBE_INTERVAL", 0.05)
    entry = _entry(token)
    worker = workers()
    worker.store("kept", entry, worker.lookup("kept")[1])
    _kill(worker)
    time.sleep(0.05)  # the server closes the connection
    assert worker.lookup("kept") == (None, None)
    assert worker._entries == {} and worker._pubsub is None
    _ready(worker)  # subscribed again
    worker.store("kept", entry, worker.lookup("kept")[1])
    assert worker.lookup("kept")[0] == entry


def test_a_reconnection_behind_our_back_counts_as_a_failure(token, workers):
    """redis-py reconnects and resubscribes by itself (with retries configured, even silently):
    messages published meanwhile were lost, so the copies go."""
    entry = _entry(token)
    worker = workers()
    worker.store("kept", entry, worker.lookup("kept")[1])
    worker._pubsub.connection.disconnect()  # redis-py's first step before it reconnects
    assert worker.lookup("kept") == (None, None)
    assert worker._entries == {} and worker._pubsub is None


def test_local_entries_are_not_used_once_liveness_lapses(token, workers):
    entry = _entry(token)
    worker = workers(liveness=0.1)
    worker.store("kept", entry, worker.lookup("kept")[1])
    assert worker.lookup("kept")[0] == entry
    time.sleep(0.15)  # nothing heard: the last answered PING is older than the liveness window
    assert worker.lookup("kept") == (None, None)
    assert worker._entries == {}
    _ready(worker)  # the PING sent by that lookup is answered: live again, but the copy is gone
    assert worker.lookup("kept") == (None, worker.generation)


def test_p23_failed_publish_still_revokes_and_no_copy_is_served(
    client, token, workers, redis_reads, django_assert_num_queries, monkeypatch
):
    from oauth2_provider.models import RefreshToken

    from provider_app.internal import cache_outbox

    worker_a = workers()
    _cache_on(worker_a, client, token, redis_reads, django_assert_num_queries)

    def unavailable(*args, **kwargs):
        raise redis.ConnectionError("cannot publish")

    monkeypatch.setattr(redis.Redis, "publish", unavailable)
    RefreshToken.objects.get(access_token__token_checksum=token_cache.checksum(token)).revoke()
    assert not AccessToken.objects.filter(token_checksum=token_cache.checksum(token)).exists()
    assert _me(client, token, worker_a).status_code == 401  # caches unused until it is applied
    monkeypatch.undo()
    cache_outbox.forget_state()
    assert _me(client, token, worker_a).status_code == 401  # applied: the message dropped the copy
    assert worker_a.lookup(token_cache.checksum(token))[0] is None


def _subscribers(shared_token_cache) -> int:
    channel = token_local_cache.channel(shared_token_cache)
    return dict(redis.Redis.from_url(REDIS_URL).pubsub_numsub(channel))[channel.encode()]


def test_off_when_the_setting_is_off(client, token, redis_reads, shared_token_cache):
    with override_settings(PROVIDER_APP_TOKEN_LOCAL_CACHE=False):
        for _ in range(3):
            assert _me(client, token).status_code == 200
        assert token_local_cache.for_cache(shared_token_cache) is None
    assert len(redis_reads) == 3  # every request reads the shared cache, as without the layer
    assert _subscribers(shared_token_cache) == 0


@pytest.mark.parametrize(
    "configuration",
    [
        {"CACHES": {"default": LOCAL, "tokens": LOCAL}, "PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL": True},
        {"PROVIDER_APP_TOKEN_CACHE": ""},
    ],
    ids=["locmem", "no-token-cache"],
)
def test_off_without_a_redis_token_cache(client, token, configuration, django_assert_num_queries):
    with override_settings(**configuration):
        assert token_local_cache.for_cache(token_cache.token_cache()) is None
        assert _me(client, token).status_code == 200
        assert _me(client, token).status_code == 200
    assert token_local_cache._process_layer is None  # never made


def test_a_forked_process_makes_its_own_layer(shared_token_cache, monkeypatch):
    parent = _ready(token_local_cache.for_cache(shared_token_cache))
    monkeypatch.setattr(token_local_cache.os, "getpid", lambda: parent.pid + 1)
    child = token_local_cache.for_cache(shared_token_cache)
    assert child is not parent and child.pid == parent.pid + 1
    assert parent._pubsub is not None  # the parent's subscription is left alone in the child
    monkeypatch.undo()
    parent.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_p22_revocation_is_refused_at_once_by_every_gunicorn_worker(user, application):
    """Real worker processes, each with its copy: after the revocation's answer, none serves it."""
    import requests

    require_shared_redis()  # gunicorn's workers share a cache only with REDIS_URL set
    token, _ = issue_access_token(application, user, "openid profile", with_refresh=False)
    workers = 4
    # The servers' channel: tests.settings without our KEY_PREFIX.
    served = token_local_cache.channel(RedisCache(REDIS_URL, {}))
    with gunicorn_server(workers=workers, threads=2) as url:

        def statuses(count: int) -> set[int]:
            headers = {"Authorization": f"Bearer {token}", "Connection": "close"}  # spread over workers
            return {
                requests.get(f"{url}/api/me", headers=headers, timeout=9).status_code for _ in range(count)
            }

        assert statuses(30 * workers) == {200}  # every worker now holds its copy
        numsub = dict(redis.Redis.from_url(REDIS_URL).pubsub_numsub(served))[served.encode()]
        assert numsub >= workers
        revoked = requests.post(
            url + "/o/revoke_token/",
            data={"token": token, "token_type_hint": "access_token"},
            headers={"Authorization": basic_auth(application.client_id, application.raw_secret)},
            timeout=10,
        )
        assert revoked.status_code == 200
        assert statuses(30 * workers) == {401}


# -- clients (provider_app.client_cache): the same layer, keyed by the client's cache key --------


@pytest.fixture
def service(db):
    from tests.factories import ApplicationFactory

    return ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")


def _client_token(client, service, secret, worker):
    with _on(worker):
        return client_credentials(client, service, secret, scope="profile")


def _client_cached_on(worker, client, service, redis_reads):
    from provider_app.internal.clients import _key

    for _ in range(2):  # database -> shared cache, then shared cache -> the worker's copy
        assert _client_token(client, service, service.raw_secret, worker).status_code == 200
    del redis_reads[:]
    assert _client_token(client, service, service.raw_secret, worker).status_code == 200
    assert redis_reads == []  # the client came from the worker's own copy
    assert worker.lookup(_key(service.client_id))[0] is not None


def test_p15_rotated_client_secret_is_refused_at_once_by_every_worker(client, service, workers, redis_reads):
    from provider_app.internal.clients import generate_client_secret

    worker = workers()
    _client_cached_on(worker, client, service, redis_reads)
    old_secret, new_secret = service.raw_secret, generate_client_secret()
    service.client_secret = new_secret
    service.save()  # the admin's rotation saves the client the same way
    assert _client_token(client, service, old_secret, worker).status_code == 401
    assert _client_token(client, service, new_secret, worker).status_code == 200


def test_deleted_client_is_refused_at_once_by_every_worker(client, service, workers, redis_reads):
    worker = workers()
    _client_cached_on(worker, client, service, redis_reads)
    secret = service.raw_secret
    service.delete()
    assert _client_token(client, service, secret, worker).status_code == 401
