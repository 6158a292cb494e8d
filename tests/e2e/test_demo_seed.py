"""The demo's seeding: the demo client on both sides with one secret, safe to run again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from oauth2_provider.models import get_application_model

from client_app.models import Provider
from oauthsite import demo

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def secret_matches(application, secret: str) -> bool:
    from django.contrib.auth.hashers import check_password

    return check_password(secret, application.client_secret)


def test_seed_registers_the_demo_provider_on_the_client_side():
    seed()
    provider = Provider.objects.get(slug=demo.DEMO_PROVIDER_SLUG)
    application = get_application_model().objects.get(client_id=demo.DEMO_CLIENT_ID)
    assert provider.issuer == "http://localhost:8000/o"
    assert provider.client_id == application.client_id
    assert secret_matches(application, provider.client_secret)
    assert application.redirect_uris == "http://127.0.0.1:8000/client/demo/callback/"
    assert application.post_logout_redirect_uris == "http://127.0.0.1:8000/client/logged-out/"
    # Signing out at the provider signs the user out of the demo client (back-channel logout).
    assert (
        application.policy.backchannel_logout_uri == "http://127.0.0.1:8000/client/demo/backchannel-logout/"
    )
    assert application.policy.backchannel_logout_session_required


def test_seed_again_keeps_the_secret():
    seed()
    secret = Provider.objects.get().client_secret
    assert "new secret" not in seed()
    assert Provider.objects.get().client_secret == secret
    assert Provider.objects.count() == 1 and get_application_model().objects.count() == 1


def test_seed_rotates_on_both_sides_when_the_client_lacks_the_secret():
    seed()
    old_secret = Provider.objects.get().client_secret
    Provider.objects.update(client_secret="")
    assert "new secret" in seed()
    provider = Provider.objects.get()
    application = get_application_model().objects.get(client_id=demo.DEMO_CLIENT_ID)
    assert provider.client_secret and provider.client_secret != old_secret
    assert secret_matches(application, provider.client_secret)
    assert not secret_matches(application, old_secret)
