"""The bearer-token fast path (provider_app.api.authentication + provider_app.token_cache).

The cache is a local-memory cache here (one process, allowed explicitly); the benchmark checks the
same with Redis and several gunicorn workers. Every revocation path must refuse the token at once.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken, revoke_access_token

from bench.fixtures import issue_access_token
from provider_app.internal import token_cache
from tests.oauth_helpers import api_me, basic_auth

LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bearer-tests"}
# With REDIS_URL set, every test also runs against Redis, the shared cache production uses.
BACKENDS = {"locmem": LOCAL}
if os.environ.get("REDIS_URL"):
    BACKENDS["redis"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": f"bearer-tests-{uuid.uuid4().hex}",
    }


@pytest.fixture(autouse=True, params=sorted(BACKENDS))
def shared_token_cache(request):
    caches_setting = {"default": LOCAL, "tokens": BACKENDS[request.param]}
    with override_settings(
        CACHES=caches_setting, PROVIDER_APP_TOKEN_CACHE="tokens", PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL=True
    ):
        if request.param == "locmem":
            caches["tokens"].clear()
        yield caches["tokens"]


@pytest.fixture
def token(user, application):
    value, _ = issue_access_token(application, user, "openid profile email", with_refresh=True)
    return value


def _warm(client, token, django_assert_num_queries):
    assert api_me(client, token).status_code == 200
    with django_assert_num_queries(0):  # served from the cache: no query at all
        assert api_me(client, token).status_code == 200


def test_second_request_is_served_from_the_cache(client, token, user, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    body = api_me(client, token).json()
    assert body["sub"] == str(user.pk)
    assert body["email"] == user.email


def test_cache_holds_neither_the_token_nor_the_password_hash(client, token, user, shared_token_cache):
    assert api_me(client, token).status_code == 200
    entry, _ = token_cache.lookup(shared_token_cache, token_cache.KEY_PREFIX + token_cache.checksum(token))
    assert entry["user"]["id"] == user.pk
    flat = repr(entry)
    assert token not in flat
    assert user.password not in flat and "password" not in entry["user"]


def test_p22_revocation_endpoint_refuses_a_cached_token_at_once(
    client, token, application, django_assert_num_queries
):
    _warm(client, token, django_assert_num_queries)
    response = client.post(
        "/o/revoke_token/",
        {"token": token, "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, application.raw_secret),
    )
    assert response.status_code == 200
    assert api_me(client, token).status_code == 401


def test_revoking_the_refresh_token_refuses_its_cached_access_token(client, token, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    RefreshToken.objects.get(access_token__token_checksum=token_cache.checksum(token)).revoke()
    assert api_me(client, token).status_code == 401


def test_revoking_a_token_family_refuses_its_cached_access_tokens(client, token, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    family = RefreshToken.objects.get(access_token__token_checksum=token_cache.checksum(token)).token_family
    RefreshToken.revoke_family(family)
    assert api_me(client, token).status_code == 401


def test_admin_style_revocation_and_client_deletion(client, user, application, django_assert_num_queries):
    first, _ = issue_access_token(application, user, "profile", with_refresh=False)
    second, _ = issue_access_token(application, user, "profile", with_refresh=False)
    _warm(client, first, django_assert_num_queries)
    _warm(client, second, django_assert_num_queries)
    revoke_access_token(AccessToken.objects.get(token_checksum=token_cache.checksum(first)))
    assert api_me(client, first).status_code == 401
    application.delete()  # cascades to its tokens
    assert api_me(client, second).status_code == 401


def test_deactivated_user_is_refused_at_once(client, token, user, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    user.is_active = False
    user.save()
    assert api_me(client, token).status_code == 401


def test_changed_profile_is_served_fresh(client, token, user, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    user.email = "new-address@example.com"
    user.save()
    assert api_me(client, token).json()["email"] == "new-address@example.com"


def test_a_login_does_not_evict_the_users_tokens(client, token, user, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    with django_assert_num_queries(0):
        assert api_me(client, token).status_code == 200


def test_a_reader_that_loaded_the_row_before_a_revocation_cannot_cache_it_afterwards(
    client, token, shared_token_cache
):
    found = token_cache.BEARER_TOKENS.lookup(shared_token_cache, token_cache.checksum(token))  # a miss ...
    row = AccessToken.objects.select_related("user").get(token_checksum=token_cache.checksum(token))
    row.delete()  # the revocation commits between the reader's query and its cache write
    token_cache.remember(shared_token_cache, found, row)
    assert api_me(client, token).status_code == 401


def test_new_value_written_in_place_retires_the_old_one(client, token, django_assert_num_queries):
    """DOT without refresh rotation rewrites the access token row with a new value."""
    from oauth2_provider.models import set_token_value

    _warm(client, token, django_assert_num_queries)
    row = AccessToken.objects.get(token_checksum=token_cache.checksum(token))
    set_token_value(row, "a-brand-new-access-token-value-0123456789")
    row.save()
    assert api_me(client, token).status_code == 401
    assert api_me(client, "a-brand-new-access-token-value-0123456789").status_code == 200


def test_narrowed_scope_is_enforced_from_the_cache(client, token, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    row = AccessToken.objects.get(token_checksum=token_cache.checksum(token))
    row.scope = "openid"
    row.save()
    assert api_me(client, token).status_code == 403  # /api/me needs "profile"


def test_expired_cached_token_is_refused(client, token, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    row = AccessToken.objects.get(token_checksum=token_cache.checksum(token))
    import time_machine

    with time_machine.travel(row.expires + timedelta(seconds=1)):
        response = api_me(client, token)
    assert response.status_code == 401
    assert "expired" in response["WWW-Authenticate"]


def test_p14_query_string_token_is_refused_even_when_cached(client, token, django_assert_num_queries):
    _warm(client, token, django_assert_num_queries)
    assert client.get("/api/me", {"access_token": token}).status_code == 401


def test_unknown_token_is_refused_with_a_bearer_challenge(client, db):
    response = api_me(client, "not-a-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert "invalid_token" in response["WWW-Authenticate"]


def test_p23_failed_invalidation_still_revokes(client, token, django_assert_num_queries, monkeypatch):
    """If the shared cache cannot be written, the revocation still happens and nothing is served
    from the cache until the invalidation has been applied (provider_app.cache_outbox)."""
    from provider_app.internal import cache_outbox, shared_cache

    _warm(client, token, django_assert_num_queries)

    def unavailable(*args, **kwargs):
        raise ConnectionError("cache down")

    for store in (shared_cache.RedisStore, shared_cache.LocalStore):
        monkeypatch.setattr(store, "invalidate", unavailable)
    RefreshToken.objects.get(access_token__token_checksum=token_cache.checksum(token)).revoke()
    assert not AccessToken.objects.filter(token_checksum=token_cache.checksum(token)).exists()
    assert api_me(client, token).status_code == 401
    monkeypatch.undo()
    cache_outbox.forget_state()
    assert api_me(client, token).status_code == 401


def test_process_local_cache_is_not_used_unless_allowed(client, token, django_assert_num_queries):
    with override_settings(
        CACHES={"default": LOCAL, "tokens": LOCAL}, PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL=False
    ):
        assert token_cache.token_cache() is None
        assert api_me(client, token).status_code == 200
        with django_assert_num_queries(1):  # one query: token and user together
            assert api_me(client, token).status_code == 200


def test_client_credentials_token_has_no_user(client, application):
    value, _ = issue_access_token(application, None, "profile", with_refresh=False)
    assert api_me(client, value).status_code in (401, 403)
