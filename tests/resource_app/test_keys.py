"""R7: the provider's keys are cached, refreshed once on an unknown kid with a cooldown, kept when a
fetch fails, and Cache-Control is honoured within bounds."""

from __future__ import annotations

import pytest

from resource_app.internal.jwks import key_cache
from tests.resource_app.conftest import JWKS_URI, mint, signing_key

pytestmark = pytest.mark.django_db


def _ok(client, token) -> bool:
    return client.get("/notes/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_r7_keys_are_fetched_once_for_many_requests(client, provider):
    for _ in range(5):
        assert _ok(client, mint())
    assert provider.calls(JWKS_URI) == 1


def test_r7_a_new_key_is_picked_up_on_its_first_token(client, provider):
    assert _ok(client, mint())
    provider.keys = [signing_key(), signing_key("key-2")]  # the provider rotated: a new kid
    assert _ok(client, mint(key=signing_key("key-2")))
    assert provider.calls(JWKS_URI) == 2


def test_r7_unknown_kids_cost_one_fetch_per_cooldown(client, provider, settings):
    settings.RESOURCE_APP_JWKS_REFRESH_COOLDOWN = 60
    assert _ok(client, mint())
    for n in range(20):  # a flood of tokens naming keys that do not exist
        forged = mint(key=signing_key(f"made-up-{n % 2}"))
        assert not _ok(client, forged)
    assert provider.calls(JWKS_URI) == 2  # the first fetch and one refresh, not twenty


def test_r7_cached_keys_are_kept_when_the_provider_is_down(client, provider, settings):
    settings.RESOURCE_APP_JWKS_REFRESH_COOLDOWN = 0
    assert _ok(client, mint())
    provider.down = True
    key_cache._expires = 0  # the cache's lifetime is over: a fetch is due, and fails
    assert _ok(client, mint())  # R12: JWT mode keeps working on the cached keys
    assert not _ok(client, mint(key=signing_key("key-2")))  # an unknown key is still refused


def test_r7_cache_control_is_honoured_within_bounds(client, provider, settings):
    settings.RESOURCE_APP_JWKS_MIN_AGE, settings.RESOURCE_APP_JWKS_MAX_AGE = 60, 600
    for header, lifetime in (("max-age=5", 60), ("max-age=300", 300), ("max-age=86400", 600), ("", 600)):
        key_cache.forget()
        provider.cache_control = header
        import time

        before = time.monotonic()
        assert _ok(client, mint())
        assert lifetime - 1 <= key_cache._expires - before <= lifetime + 1, header


def test_r7_no_keys_at_all_is_a_503_not_a_500(client, provider):
    provider.down = True
    response = client.get("/notes/", HTTP_AUTHORIZATION=f"Bearer {mint()}")
    assert response.status_code == 503


def test_r12_a_provider_that_is_down_at_start_is_not_hammered(client, provider, settings):
    settings.RESOURCE_APP_JWKS_REFRESH_COOLDOWN = 60
    provider.down = True
    for _ in range(20):  # forged tokens naming any kid, while no key was ever loaded
        assert (
            client.get("/notes/", HTTP_AUTHORIZATION=f"Bearer {mint(key=signing_key('x'))}").status_code
            == 503
        )
    discovery = "https://provider.example.com/o/.well-known/openid-configuration"
    assert provider.calls(discovery) + provider.calls(JWKS_URI) <= 2


def test_r12_a_provider_answering_one_byte_at_a_time_meets_the_deadline(settings):
    import time as clock

    from resource_app.exceptions import ProviderUnavailable
    from resource_app.internal import http

    class Drip:
        decode_content = False

        def read1(self, amount):
            clock.sleep(0.05)
            return b"x"

    class Response:
        raw = Drip()

    settings.RESOURCE_APP_HTTP_MAX_RESPONSE_BYTES = 10_000
    started = clock.monotonic()
    with pytest.raises(ProviderUnavailable):
        http._read(Response(), clock.monotonic() + 0.3)
    assert clock.monotonic() - started < 1
