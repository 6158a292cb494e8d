"""System checks, management commands, app settings."""

from __future__ import annotations

import io
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from client_app import checks
from client_app.models import PendingLogin, Provider
from tests.client_app.fake_provider import ISSUER


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_check_missing_encryption_keys(settings):
    settings.CLIENT_APP_ENCRYPTION_KEYS = []
    assert ids(checks.check_encryption_keys(None)) == ["client_app.E001"]


def test_check_bad_encryption_key(settings):
    settings.CLIENT_APP_ENCRYPTION_KEYS = ["not-a-key"]
    assert ids(checks.check_encryption_keys(None)) == ["client_app.E002"]


def test_check_good_keys(settings):
    assert checks.check_encryption_keys(None) == []


def test_check_adapter(settings):
    settings.CLIENT_APP_ADAPTER = "nowhere.Adapter"
    assert ids(checks.check_adapter(None)) == ["client_app.E003"]


def test_check_session_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "SessionMiddleware" not in m]
    assert ids(checks.check_session_middleware(None)) == ["client_app.E004"]


@pytest.mark.parametrize("timeout", [None, 0, (1, None)])
def test_check_timeout(settings, timeout):
    settings.CLIENT_APP_HTTP_TIMEOUT = timeout
    assert ids(checks.check_timeout(None)) == ["client_app.E005"]


def test_check_email_linking_warns(settings):
    settings.CLIENT_APP_LINK_BY_VERIFIED_EMAIL = True
    assert ids(checks.check_email_linking(None)) == ["client_app.W001"]


@pytest.mark.django_db
def test_register_provider_command(fake_provider, monkeypatch):
    monkeypatch.setenv("EXAMPLE_SECRET", "s3cret-" + "q" * 40)
    out = io.StringIO()
    call_command(
        "client_app_register_provider",
        "--slug=example",
        "--name=Example",
        f"--issuer={ISSUER}",
        "--client-id=abc",
        "--client-secret-env=EXAMPLE_SECRET",
        stdout=out,
    )
    provider = Provider.objects.get(slug="example")
    assert (provider.issuer, provider.client_id, provider.client_secret) == (
        ISSUER,
        "abc",
        os.environ["EXAMPLE_SECRET"],
    )
    assert "Registered" in out.getvalue() and os.environ["EXAMPLE_SECRET"] not in out.getvalue()
    call_command(
        "client_app_register_provider", "--slug=example", f"--issuer={ISSUER}", "--client-id=abc2", stdout=out
    )
    provider.refresh_from_db()
    assert provider.client_id == "abc2" and provider.client_secret == os.environ["EXAMPLE_SECRET"]


@pytest.mark.django_db
def test_register_provider_command_refuses_a_wrong_issuer(fake_provider):
    with pytest.raises(CommandError, match="Discovery"):
        call_command(
            "client_app_register_provider",
            "--slug=x",
            "--issuer=https://op.example.com/other",
            "--client-id=abc",
        )
    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_register_provider_command_refuses_hmac(fake_provider):
    with pytest.raises(CommandError, match="HS256"):
        call_command(
            "client_app_register_provider",
            "--slug=x",
            f"--issuer={ISSUER}",
            "--client-id=a",
            "--algorithms=HS256",
        )


@pytest.mark.django_db
def test_purge_command_deletes_expired_pending_logins(flow):
    from datetime import timedelta

    from django.utils import timezone

    flow.start()
    flow.start()
    PendingLogin.objects.filter(pk=PendingLogin.objects.first().pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("client_app_purge", stdout=io.StringIO())
    assert PendingLogin.objects.count() == 1


def test_app_settings_are_read_lazily(settings):
    from client_app.app_settings import app_settings

    settings.CLIENT_APP_PENDING_LOGIN_SECONDS = 42
    assert app_settings.PENDING_LOGIN_SECONDS == 42
    settings.CLIENT_APP_ENCRYPTION_KEYS = "k1, k2"
    assert app_settings.ENCRYPTION_KEYS == ["k1", "k2"]


@pytest.mark.django_db
def test_unknown_provider_slug_is_a_configuration_error(user):
    from client_app import api

    with pytest.raises(api.ConfigurationError):
        api.get_access_token(user, "nope")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("issuer", "valid"),
    [("https://op.example.com", True), ("http://op.example.com", False), ("http://localhost:8000/o", True)],
)
def test_issuer_must_be_https_except_loopback(settings, issuer, valid):
    from django.core.exceptions import ValidationError

    settings.DEBUG = False
    provider = Provider(name="X", slug="x", issuer=issuer, client_id="c")
    if valid:
        provider.full_clean()
    else:
        with pytest.raises(ValidationError):
            provider.full_clean()


@pytest.mark.django_db
def test_admin_action_forgets_cached_metadata(flow, verified_admin_client):
    flow.start()
    assert flow.fake.calls_to("/.well-known/openid-configuration") == 1
    response = verified_admin_client.post(
        "/admin/client_app/provider/",
        {"action": "refresh_metadata", "_selected_action": [flow.provider.pk]},
    )
    assert response.status_code == 302
    flow.start()
    assert flow.fake.calls_to("/.well-known/openid-configuration") == 2
