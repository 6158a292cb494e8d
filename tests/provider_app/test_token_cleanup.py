"""``clear_expired_tokens``: DOT's cleartokens rules, applied in keyset batches."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken, clear_expired

from bench.fixtures import issue_access_token
from provider_app.internal.cleanup import clear_expired_tokens

DAY = timedelta(days=1)


def _token(application, user, *, expires_ago=None, refresh=True, revoked_ago=None, orphan=False):
    value, _ = issue_access_token(application, user, "openid profile", with_refresh=refresh)
    access_token = AccessToken.objects.order_by("-pk").first()
    if expires_ago is not None:
        AccessToken.objects.filter(pk=access_token.pk).update(expires=timezone.now() - expires_ago)
    if refresh and (revoked_ago is not None or orphan):
        update = {"access_token": None}
        if revoked_ago is not None:
            update["revoked"] = timezone.now() - revoked_ago
        RefreshToken.objects.filter(access_token_id=access_token.pk).update(**update)
    return access_token.pk


@pytest.fixture
def population(user, application):
    """Live and expired rows of every kind DOT's clear_expired() looks at."""
    now = timezone.now()
    for _ in range(3):
        _token(application, user)  # live, with refresh token: kept
        _token(application, user, expires_ago=DAY, refresh=False)  # expired, no refresh: deleted
        _token(application, user, expires_ago=40 * DAY)  # idle 40 days: refresh and access deleted
        _token(application, user, expires_ago=DAY)  # expired but refreshable: kept
        _token(application, user, revoked_ago=DAY)  # rotated recently: kept for reuse detection
        _token(application, user, revoked_ago=40 * DAY, expires_ago=40 * DAY)  # rotated long ago
        _token(application, user, orphan=True)  # orphaned refresh token: deleted
        IDToken.objects.create(user=user, application=application, expires=now - DAY)
        IDToken.objects.create(user=user, application=application, expires=now + DAY)
        for delta in (-DAY, DAY):
            Grant.objects.create(
                user=user,
                application=application,
                code=f"code-{delta.days}-{Grant.objects.count()}",
                expires=now + delta,
                redirect_uri="https://client.example.com/callback",
                code_challenge="x" * 43,
                code_challenge_method="S256",
            )


def _remaining():
    return {
        model.__name__: set(model.objects.values_list("pk", flat=True))
        for model in (AccessToken, RefreshToken, IDToken, Grant)
    }


def test_removes_exactly_what_dots_cleartokens_removes(population):
    with transaction.atomic():
        clear_expired()
        expected = _remaining()
        transaction.set_rollback(True)
    before = _remaining()
    report = clear_expired_tokens(batch_size=2)
    assert _remaining() == expected
    assert expected != before  # the population had something to delete
    assert report.batches > 6  # several small batches, not one big delete
    assert sum(report.deleted.values()) == sum(len(before[k] - expected[k]) for k in before)


def test_live_tokens_survive(population, user, application):
    live = _token(application, user)
    clear_expired_tokens(batch_size=1)
    assert AccessToken.objects.filter(pk=live).exists()
    assert RefreshToken.objects.filter(access_token_id=live).exists()
    assert not AccessToken.objects.filter(expires__lt=timezone.now(), refresh_token__isnull=True).exists()


def test_command_prints_a_summary(population):
    out = StringIO()
    call_command("clear_expired_tokens", "--batch-size", "3", stdout=out)
    assert "expired access tokens" in out.getvalue()
    assert "batches" in out.getvalue()


def test_nothing_to_do(db):
    report = clear_expired_tokens()
    assert sum(report.deleted.values()) == 0
