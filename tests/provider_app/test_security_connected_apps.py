"""The connected-apps page: users see which clients hold access to their account and revoke them."""

from __future__ import annotations

import pytest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from provider_app.models import AuditEvent, Consent
from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import api_me, issue_tokens, post_refresh

pytestmark = pytest.mark.django_db

PAGE = "/account/connected-apps/"


def test_connected_apps_lists_clients_with_scopes_and_dates(client, user, application):
    issue_tokens(client, user, application, scope="openid profile")
    response = client.get(PAGE)
    assert response.status_code == 200
    [app] = response.context["connected_apps"]
    assert app.application == application
    assert {"openid", "profile"} <= app.scopes
    assert app.since is not None and app.last_active is not None
    html = response.content.decode()
    assert application.name in html and "See your name and username" in html
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_revoking_a_client_revokes_its_tokens_and_consent(client, user, application):
    tokens = issue_tokens(client, user, application, scope="openid profile")
    other = ApplicationFactory()
    other_tokens = issue_tokens(client, user, other, scope="openid profile")
    response = client.post(PAGE, {"application": application.pk})
    assert response.status_code == 303
    assert response["Location"] == PAGE
    me = api_me(client, tokens["access_token"])
    assert me.status_code == 401
    refresh = post_refresh(client, application, tokens["refresh_token"])
    assert refresh.status_code == 400
    assert not Consent.objects.filter(user=user, application=application).exists()
    assert not get_access_token_model().objects.filter(user=user, application=application).exists()
    assert (
        not get_refresh_token_model()
        .objects.filter(user=user, application=application, revoked__isnull=True)
        .exists()
    )
    # The other client keeps its access.
    still = api_me(client, other_tokens["access_token"])
    assert still.status_code == 200
    assert [app.application for app in client.get(PAGE).context["connected_apps"]] == [other]
    events = set(AuditEvent.objects.filter(application=application).values_list("event", flat=True))
    assert {"client.access_revoked", "consent.revoked", "token.revoked"} <= events


def test_a_user_cannot_revoke_another_users_client(client, user, application):
    victim = UserFactory()
    victim_tokens = issue_tokens(client, victim, application, scope="openid profile")
    client.force_login(user)
    response = client.post(PAGE, {"application": application.pk})
    assert response.status_code == 303
    me = api_me(client, victim_tokens["access_token"])
    assert me.status_code == 200


def test_revoking_needs_csrf_and_a_signed_in_user(user, application):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    assert csrf_client.post(PAGE, {"application": application.pk}).status_code == 403
    anonymous = Client()
    response = anonymous.get(PAGE)
    assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_connected_apps_page_with_bad_input_is_not_an_error(client, user):
    client.force_login(user)
    for value in ("", "abc", "99999999999999999999999", "1' OR '1'='1"):
        assert client.post(PAGE, {"application": value}).status_code == 303


def test_connected_apps_shows_when_a_client_last_used_its_access(client, user, application):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from provider_app.models import ClientUsage

    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        tokens = issue_tokens(client, user, application, scope="openid profile")
        clock.shift(timedelta(hours=2))
        assert api_me(client, tokens["access_token"]).status_code == 401
        refreshed = post_refresh(client, application, tokens["refresh_token"]).json()
        clock.shift(timedelta(minutes=10))
        me = api_me(client, refreshed["access_token"])
        assert me.status_code == 200
        used_at = timezone.now()
    [app] = client.get(PAGE).context["connected_apps"]
    assert app.last_used == used_at
    assert app.since <= start + timedelta(seconds=5)
    # One row per user and client, updated in place.
    assert ClientUsage.objects.filter(user=user, application=application).count() == 1


def test_last_used_is_written_at_most_once_per_token_every_five_minutes(client, user, application):
    from provider_app.models import ClientUsage

    tokens = issue_tokens(client, user, application, scope="openid profile")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/me", **bearer).status_code == 200
    assert ClientUsage.objects.filter(user=user, application=application).exists()
    ClientUsage.objects.all().delete()
    assert client.get("/api/me", **bearer).status_code == 200
    assert client.get("/o/userinfo/", **bearer).status_code == 200
    assert not ClientUsage.objects.exists()  # the gate held: no write within five minutes


def test_last_used_also_from_tokens_served_by_the_token_cache(client, user, application):
    import hashlib

    from django.core.cache import caches
    from django.test import override_settings

    from provider_app.internal import tokens as token_usage
    from provider_app.models import ClientUsage

    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "connected-apps"}
    with override_settings(
        CACHES={"default": local, "tokens": local},
        PROVIDER_APP_TOKEN_CACHE="tokens",
        PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL=True,
    ):
        tokens = issue_tokens(client, user, application, scope="openid profile")
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
        assert client.get("/api/me", **bearer).status_code == 200  # from the database, then cached
        ClientUsage.objects.all().delete()
        checksum = hashlib.sha256(tokens["access_token"].encode()).hexdigest()
        caches["default"].delete(f"provider_app:token-used:{checksum}")  # as if five minutes passed
        token_usage._recently_noted.clear()  # and this process's own gate (perf, see token_usage)
        assert client.get("/api/me", **bearer).status_code == 200  # served from the token cache
        assert ClientUsage.objects.filter(user=user, application=application).exists()
