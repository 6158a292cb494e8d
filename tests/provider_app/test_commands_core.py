"""Management commands: DOT's createapplication and cleartokens keep working; seed_demo is idempotent."""

from __future__ import annotations

import datetime
import re
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, get_refresh_token_model

from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    api_me,
    client_credentials,
    exchange,
    issue_tokens,
    post_refresh,
    signed_in_code,
)

pytestmark = pytest.mark.django_db

Application = get_application_model()


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_createapplication_generates_a_strong_secret_and_stores_it_hashed(client):
    output = _run(
        "createapplication",
        "confidential",
        "client-credentials",
        "--name",
        "cli-service",
        "--client-id",
        "cli-service",
    )
    assert "created successfully" in output
    secret = re.search(r"client_secret: (\S+)", output).group(1)
    assert len(secret) >= 43
    application = Application.objects.get(client_id="cli-service")
    assert application.client_secret.startswith("client_secret_sha256$")
    assert check_password(secret, application.client_secret)
    assert application.algorithm == "RS256"
    response = client_credentials(client, application, secret)
    assert response.status_code == 200


def test_createapplication_with_a_code_flow_client():
    output = _run(
        "createapplication",
        "public",
        "authorization-code",
        "--name",
        "native",
        "--redirect-uris",
        "http://127.0.0.1/callback",
    )
    assert "created successfully" in output
    assert Application.objects.get(name="native").redirect_uris == "http://127.0.0.1/callback"


@pytest.mark.parametrize("secret", ["weak", "x" * 40, "0123456789" * 4])
def test_createapplication_refuses_a_weak_client_secret(secret):
    output = _run(
        "createapplication", "confidential", "client-credentials", "--name", "weak", "--client-secret", secret
    )
    assert "client_secret" in output
    assert "created successfully" not in output
    assert not Application.objects.filter(name="weak").exists()


def test_createapplication_accepts_a_strong_client_secret_and_hashes_it():
    import secrets

    secret = secrets.token_urlsafe(32)
    output = _run(
        "createapplication",
        "confidential",
        "client-credentials",
        "--name",
        "strong",
        f"--client-secret={secret}",  # a token_urlsafe value may start with "-"
    )
    assert "created successfully" in output
    assert secret not in output  # not echoed: it was typed, not generated
    application = Application.objects.get(name="strong")
    assert check_password(secret, application.client_secret)


def test_createapplication_with_no_hash_flag_still_hashes():
    output = _run(
        "createapplication",
        "confidential",
        "client-credentials",
        "--name",
        "nohash",
        "--no-hash-client-secret",
    )
    assert "created successfully" in output
    assert Application.objects.get(name="nohash").client_secret.startswith("client_secret_sha256$")


def test_createapplication_refuses_http_redirect_uris_outside_loopback():
    with pytest.raises(Exception, match="loopback"):
        _run(
            "createapplication",
            "confidential",
            "authorization-code",
            "--name",
            "plainhttp",
            "--redirect-uris",
            "http://client.example.com/cb",
        )
    assert not Application.objects.filter(name="plainhttp").exists()


def test_cleartokens_removes_expired_tokens_and_keeps_live_ones(client, user):
    application = ApplicationFactory()
    old = issue_tokens(client, user, application)
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    assert AccessToken.objects.count() == RefreshToken.objects.count() == 1
    with time_machine.travel(timezone.now() + datetime.timedelta(days=31), tick=False):
        fresh = issue_tokens(client, user, application)  # signs in again: the old session has expired
        _run("cleartokens")
        assert AccessToken.objects.count() == 1
        assert RefreshToken.objects.count() == 1
        assert api_me(client, fresh["access_token"]).status_code == 200
        assert post_refresh(client, application, old["refresh_token"], basic=True).status_code == 400


def test_seed_demo_is_idempotent(client):
    from oauthsite import demo

    first = _run("seed_demo")
    users = get_user_model().objects.count()
    applications = Application.objects.count()
    stored_secret = Application.objects.get(client_id=demo.DEMO_CLIENT_ID).client_secret
    second = _run("seed_demo")
    assert "Demo client ready" in first and "Demo client ready" in second
    assert get_user_model().objects.count() == users == len(demo.DEMO_USERS)
    assert Application.objects.count() == applications == 1 + len(demo.DEMO_SERVICES)  # the services' clients
    application = Application.objects.get(client_id=demo.DEMO_CLIENT_ID)
    assert application.client_secret == stored_secret  # not rotated by a second run
    assert application.client_secret.startswith("client_secret_sha256$")
    for username, password, is_staff in demo.DEMO_USERS:
        user = get_user_model().objects.get(username=username)
        assert user.check_password(password)
        assert user.is_staff is is_staff
    # The demo client can complete the flow with the secret the client side holds.
    alice = get_user_model().objects.get(username="alice")
    application.raw_secret = demo._client_side_secret()
    assert application.raw_secret and check_password(application.raw_secret, application.client_secret)
    request, code = signed_in_code(client, alice, application)
    response = exchange(client, application, request, code, basic=True)
    assert response.status_code == 200, response.content
