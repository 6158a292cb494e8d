"""P5: authorization codes are single-use, replay revokes what they issued, races never give a 5xx."""

from __future__ import annotations

import hashlib

import pytest
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from provider_app.models import AuditEvent, RedeemedCode
from tests.oauth_helpers import (
    api_me,
    code_form,
    exchange,
    post_refresh,
    signed_in_code,
)
from tests.provider_app.security_helpers import gunicorn_server, parallel

RACERS = 16


def _live_id_token_ids(user) -> list[int]:
    """The ID tokens carried by the user's access tokens that are alive now."""
    return list(
        get_access_token_model()
        .objects.filter(user=user, id_token__isnull=False)
        .values_list("id_token", flat=True)
    )


@pytest.mark.django_db
def test_p5_second_redemption_is_invalid_grant_and_revokes_the_tokens(client, user, application):
    request, code = signed_in_code(client, user, application)
    first = exchange(client, application, request, code)
    assert first.status_code == 200, first.content
    tokens = first.json()
    assert api_me(client, tokens["access_token"]).status_code == 200

    second = exchange(client, application, request, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert api_me(client, tokens["access_token"]).status_code == 401
    assert post_refresh(client, application, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert not get_access_token_model().objects.filter(user=user).exists()
    # The ID token issued with the code goes too (DOT knows nothing of code replay).
    assert not get_id_token_model().objects.filter(user=user).exists()
    assert RedeemedCode.objects.get().replayed is not None
    assert AuditEvent.objects.filter(event="code.replayed", user=user).count() == 1


@pytest.mark.django_db
def test_p5_replay_revokes_tokens_descended_from_the_code_by_rotation(client, user, application):
    request, code = signed_in_code(client, user, application)
    tokens = exchange(client, application, request, code).json()
    rotated = post_refresh(client, application, tokens["refresh_token"]).json()
    assert api_me(client, rotated["access_token"]).status_code == 200
    live_id_tokens = _live_id_token_ids(user)
    assert live_id_tokens

    assert exchange(client, application, request, code).json()["error"] == "invalid_grant"
    assert api_me(client, rotated["access_token"]).status_code == 401
    assert post_refresh(client, application, rotated["refresh_token"]).status_code == 400
    assert not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
    assert not get_access_token_model().objects.filter(user=user).exists()
    # The ID token of the descendant goes with it (provider_app's family revocation).
    assert not get_id_token_model().objects.filter(pk__in=live_id_tokens).exists()


@pytest.mark.django_db
def test_p5_failed_check_does_not_burn_the_code_and_a_good_one_then_works(client, user, application):
    request, code = signed_in_code(client, user, application)
    bad = exchange(client, application, request, code, code_verifier="x" * 50)
    assert bad.status_code == 400
    assert exchange(client, application, request, code).status_code == 200


@pytest.mark.django_db
def test_p5_code_of_another_client_is_invalid_grant(client, user, application):
    from tests.factories import ApplicationFactory

    other = ApplicationFactory(redirect_uris=application.redirect_uris)
    request, code = signed_in_code(client, user, application)
    response = exchange(client, other, request, code, client_id=other.client_id)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.django_db
def test_p16_authorization_code_is_stored_only_as_its_sha256(client, user, application):
    _request, code = signed_in_code(client, user, application)
    grant = get_grant_model().objects.get()
    assert grant.code == hashlib.sha256(code.encode()).hexdigest()
    assert code not in grant.code


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_p5_concurrent_code_redemptions_one_success_others_invalid_grant(
    live_server, client, user, application
):
    request, code = signed_in_code(client, user, application)
    form = code_form(application, request, code)
    url = live_server.url + "/o/token/"
    responses = parallel(RACERS, lambda session: session.post(url, data=form, timeout=60))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * (RACERS - 1), statuses
    losers = [response for response in responses if response.status_code == 400]
    assert {response.json()["error"] for response in losers} == {"invalid_grant"}
    # The others were replays of the code: what the winner got is revoked too (RFC 6749 4.1.2).
    [winner] = [response for response in responses if response.status_code == 200]
    assert api_me(client, winner.json()["access_token"]).status_code == 401
    assert not get_access_token_model().objects.filter(user=user).exists()


@pytest.mark.django_db
def test_p5_redeemed_codes_are_forgotten_after_retention(client, user, application, settings):
    from datetime import timedelta

    import time_machine
    from django.core.management import call_command
    from django.utils import timezone

    settings.PROVIDER_APP_REDEEMED_CODE_RETENTION_SECONDS = 60
    request, code = signed_in_code(client, user, application)
    assert exchange(client, application, request, code).status_code == 200
    call_command("clearredeemedcodes")
    assert RedeemedCode.objects.count() == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        call_command("clearredeemedcodes")
    assert RedeemedCode.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_p5_concurrent_redemptions_across_gunicorn_worker_processes(client, user, application):
    """The setting of the original report: gunicorn, 4 workers x 4 threads, PostgreSQL."""
    with gunicorn_server(workers=4, threads=4) as url:
        for _trial in range(3):
            request, code = signed_in_code(client, user, application)
            form = code_form(application, request, code)
            responses = parallel(
                RACERS, lambda session, form=form: session.post(url + "/o/token/", data=form, timeout=60)
            )
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [200] + [400] * (RACERS - 1), statuses
            assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}


def test_p16_every_dot_method_that_reads_grants_is_overridden():
    """DOT looks grants up by the raw code, which is no longer stored: each such method must be
    replaced by provider_app's (guards a DOT upgrade that adds one)."""
    import ast
    import inspect

    from oauth2_provider import oauth2_validators

    from provider_app.oauth2_validator import ProviderOAuth2Validator

    tree = ast.parse(inspect.getsource(oauth2_validators.OAuth2Validator))
    reading_grants = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(name, ast.Name) and name.id == "Grant" for name in ast.walk(node))
    }
    assert reading_grants, "DOT's validator no longer names Grant: review provider_app.oauth2_validator"
    assert reading_grants <= set(vars(ProviderOAuth2Validator)), reading_grants - set(
        vars(ProviderOAuth2Validator)
    )
