"""The demo's seeding: the demo client on both sides with one secret, safe to run again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from oauth2_provider.models import get_application_model

from client_app.models import Provider
from oauthsite import demo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_dir(tmp_path, settings):
    settings.DEMO_DIR = tmp_path
    return tmp_path


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
    # Issue 14: the site calls the notes service with the user's token, files through notes.
    assert provider.resource_list == [demo.NOTES.audience]
    assert provider.scopes == "openid profile email notes:read files:read"


def test_seed_again_keeps_the_secret():
    seed()
    secret = Provider.objects.get().client_secret
    assert "new secret" not in seed()
    assert Provider.objects.get().client_secret == secret
    assert Provider.objects.count() == 1
    assert get_application_model().objects.filter(client_id=demo.DEMO_CLIENT_ID).count() == 1


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


def test_seed_registers_the_demo_services_with_their_own_clients(demo_dir):
    from provider_app.models import ResourceServer, TokenExchangePolicy

    seed()
    seed()  # again: nothing duplicated, the secrets kept
    Application = get_application_model()
    demo_client = Application.objects.get(client_id=demo.DEMO_CLIENT_ID)
    for service in demo.DEMO_SERVICES:
        server = ResourceServer.objects.get(identifier=service.audience)
        application = Application.objects.get(client_id=service.client_id)
        secret = (demo_dir / service.secret_file).read_text()
        assert server.client == application  # it may introspect tokens for its audience
        assert server.token_format == service.token_format
        assert server.events_uri == f"http://127.0.0.1:{service.port}/events/"  # services/urls.py (E1)
        assert application.client_type == Application.CLIENT_CONFIDENTIAL
        assert secret_matches(application, secret) and application.client_secret != secret
        assert (demo_dir / service.secret_file).stat().st_mode & 0o077 == 0
        assert list(server.allowed_clients.all()) == ([demo_client] if service is demo.NOTES else [])
    assert ResourceServer.objects.count() == len(demo.DEMO_SERVICES)
    policy = TokenExchangePolicy.objects.get()  # the notes service may call files for the user
    assert policy.application.client_id == demo.NOTES.client_id
    assert [s.identifier for s in policy.source_audiences.all()] == [demo.NOTES.audience]
    assert [s.identifier for s in policy.target_audiences.all()] == [demo.FILES.audience]
