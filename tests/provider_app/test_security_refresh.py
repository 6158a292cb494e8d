"""P8: refresh tokens rotate, a rotated one presented again revokes its whole family, and they stay
bound to their client; concurrent refreshes give one success and no 5xx."""

from __future__ import annotations

import pytest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from provider_app.models import AuditEvent
from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    api_me,
    issue_tokens,
    post_refresh,
    refresh_form,
)
from tests.provider_app.security_helpers import gunicorn_server, parallel

RACERS = 8


@pytest.mark.django_db
def test_p8_refresh_rotates_and_the_old_refresh_token_is_refused(client, user, application):
    first = issue_tokens(client, user, application)
    second = post_refresh(client, application, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert api_me(client, first["access_token"]).status_code == 401  # rotation revokes the previous pair


@pytest.mark.django_db
def test_p8_reused_refresh_token_revokes_the_whole_family(client, user, application):
    first = issue_tokens(client, user, application)
    second = post_refresh(client, application, first["refresh_token"]).json()
    third = post_refresh(client, application, second["refresh_token"]).json()
    assert api_me(client, third["access_token"]).status_code == 200

    reuse = post_refresh(client, application, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # Every access and refresh token descended from the original grant is dead.
    assert api_me(client, third["access_token"]).status_code == 401
    assert post_refresh(client, application, third["refresh_token"]).status_code == 400
    assert not get_access_token_model().objects.filter(user=user).exists()
    assert not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
    # provider_app's own answer to the reuse: the audit event (DOT records nothing).
    assert AuditEvent.objects.filter(event="refresh_token.reused", user=user).exists()


@pytest.mark.django_db
def test_p8_refresh_token_is_bound_to_its_client(client, user, application):
    tokens = issue_tokens(client, user, application)
    other = ApplicationFactory()
    response = post_refresh(client, other, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert post_refresh(client, application, tokens["refresh_token"]).status_code == 200


@pytest.mark.django_db
def test_p8_refresh_token_of_a_revoked_pair_is_refused(client, user, application):
    tokens = issue_tokens(client, user, application)
    revoke = client.post(
        "/o/revoke_token/",
        {
            "token": tokens["access_token"],
            "client_id": application.client_id,
            "client_secret": application.raw_secret,
        },
    )
    assert revoke.status_code == 200
    assert post_refresh(client, application, tokens["refresh_token"]).status_code == 400
    assert AuditEvent.objects.filter(event="token.revoked", client_id=application.client_id).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_p8_concurrent_refreshes_one_success_no_5xx(live_server, client, user, application):
    tokens = issue_tokens(client, user, application)
    url = live_server.url + "/o/token/"
    form = refresh_form(application, tokens["refresh_token"])
    responses = parallel(RACERS, lambda session: session.post(url, data=form, timeout=60))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * (RACERS - 1), statuses
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    # No grace period (tokens are stored hashed, a retry cannot be answered with the same pair):
    # the duplicates count as reuse, so the family is revoked (docs/security.md).
    [winner] = [r for r in responses if r.status_code == 200]
    assert winner.json()["access_token"]
    assert api_me(client, winner.json()["access_token"]).status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_p8_concurrent_refreshes_across_gunicorn_worker_processes(client, user, application):
    with gunicorn_server(workers=4, threads=4) as url:
        for _trial in range(3):
            form = refresh_form(application, issue_tokens(client, user, application)["refresh_token"])
            responses = parallel(
                RACERS, lambda session, form=form: session.post(url + "/o/token/", data=form, timeout=60)
            )
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [200] + [400] * (RACERS - 1), statuses
            assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}


@pytest.mark.django_db
def test_p8_a_failing_signal_receiver_neither_undoes_the_revocation_nor_becomes_a_500(
    client, user, application, caplog
):
    from provider_app import signals

    def broken(**kwargs):
        raise RuntimeError("a project's receiver that fails")

    signals.refresh_token_reused.connect(broken, dispatch_uid="test-broken-receiver")
    try:
        first = issue_tokens(client, user, application)
        second = post_refresh(client, application, first["refresh_token"]).json()
        reuse = post_refresh(client, application, first["refresh_token"])
    finally:
        signals.refresh_token_reused.disconnect(dispatch_uid="test-broken-receiver")
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert api_me(client, second["access_token"]).status_code == 401  # the family is revoked
    assert AuditEvent.objects.filter(event="refresh_token.reused", user=user).exists()  # others ran
    assert "signal receiver" in caplog.text
