"""A token response is written in one transaction (provider_app.internal.storage).

The ID token row is inserted with the access token, so a request that fails after oauthlib signed
the ID token stores nothing; the audit event is part of the same transaction, so a token is never
stored without it.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.db import DatabaseError
from django.db.models.signals import post_save
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken

from provider_app.internal import tokens
from provider_app.internal.tokens import claim_grant
from provider_app.models import AuditEvent, AuthenticationContext, RedeemedCode
from tests.oauth_helpers import exchange, post_refresh, signed_in_code


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _jti(id_token: str) -> str:
    return _claims(id_token)["jti"]


def _counts():
    return (
        IDToken.objects.count(),
        AccessToken.objects.count(),
        RefreshToken.objects.count(),
        RedeemedCode.objects.count(),
        AuditEvent.objects.filter(event="token.issued").count(),
    )


def test_code_exchange_links_the_id_token_it_signed(client, user, application):
    request, code = signed_in_code(client, user, application, logout=True)
    response = exchange(client, application, request, code)
    assert response.status_code == 200
    body = response.json()
    access_token = AccessToken.objects.get(id_token__jti=_jti(body["id_token"]))
    assert access_token.user == user and access_token.application == application
    # The authentication context moved from the code to the ID token (OIDC Core 12.2 refreshes).
    assert AuthenticationContext.objects.get(id_token=access_token.id_token).code_digest is None
    redemption = RedeemedCode.objects.get()
    assert redemption.access_token_id == access_token.pk
    assert redemption.token_family == RefreshToken.objects.get(access_token=access_token).token_family


@pytest.mark.django_db(transaction=True)
def test_p5_code_lost_to_a_concurrent_redemption_stores_no_id_token(client, user, application, monkeypatch):
    request, code = signed_in_code(client, user, application, logout=True)
    before = _counts()

    def another_request_redeemed_it_first(grant, **kwargs):
        Grant.objects.filter(pk=grant.pk).delete()  # the winner's claim, committed meanwhile
        return claim_grant(grant, **kwargs)

    monkeypatch.setattr(tokens, "claim_grant", another_request_redeemed_it_first)
    response = exchange(client, application, request, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    # oauthlib had signed an ID token; nothing of the loser's token response was written (on
    # PostgreSQL every write of its one statement depended on the claim).
    assert _counts() == before


@pytest.mark.django_db(transaction=True)
def test_failed_audit_insert_stores_no_token(user, application, monkeypatch):
    from django.test import Client

    client = Client(raise_request_exception=False)
    request, code = signed_in_code(client, user, application, logout=True)
    before = _counts()

    def broken_column(value, connection):
        raise DatabaseError("audit table unavailable")

    # Fails while the event's row is written, after every token row was added to the batch.
    monkeypatch.setattr(AuditEvent._meta.get_field("details"), "get_db_prep_save", broken_column)
    response = exchange(client, application, request, code)
    assert response.status_code == 500
    assert _counts() == before
    # Nothing was consumed either: the code is still there, unredeemed.
    assert Grant.objects.count() == 1 and not RedeemedCode.objects.exists()


def test_tokens_carry_256_random_bits(client, user, application):
    request, code = signed_in_code(client, user, application, logout=True)
    body = exchange(client, application, request, code).json()
    for name in ("access_token", "refresh_token"):
        # secrets.token_urlsafe(32): 43 URL-safe characters, 256 bits (oauthlib's default: 30, ~178).
        assert len(body[name]) == 43 and set(body[name]) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
    assert body["access_token"] != body["refresh_token"]


def test_p19_code_exchange_reads_grant_user_and_context_in_one_statement(client, user, application):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request, code = signed_in_code(client, user, application, logout=True)
    with CaptureQueriesContext(connection) as queries:
        body = exchange(client, application, request, code).json()
    reads = [
        q["sql"] for q in queries if q["sql"].startswith("SELECT") and "oauth2_provider_grant" in q["sql"]
    ]
    assert len(reads) == 1
    assert "provider_app_authenticationcontext" in reads[0] and "auth_user" in reads[0]
    assert '"password"' not in reads[0]  # the user's password hash is never loaded here
    claims = _claims(body["id_token"])
    assert claims["amr"] == ["pwd"] and "auth_time" in claims  # from the context read with the grant


def _token_issued_event(client, user, application):
    request, code = signed_in_code(client, user, application, logout=True)
    assert exchange(client, application, request, code).status_code == 200
    return AuditEvent.objects.filter(event="token.issued").get()


def test_token_issued_event_row_is_complete(client, user, application):
    # Written with the tokens (provider_app.internal.storage; on PostgreSQL one statement): every column
    # as the ORM would.
    event = _token_issued_event(client, user, application)
    assert event.user == user and event.username == user.get_username()
    assert event.application == application and event.client_id == application.client_id
    assert event.ip_address == "127.0.0.1"
    assert event.details == {
        "grant_type": "authorization_code",
        "scope": "openid profile email",
        "with_refresh": True,
    }
    assert abs((event.created - timezone.now()).total_seconds()) < 60


def test_token_issued_event_goes_through_save_signals_when_someone_listens(client, user, application):
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.event, created))

    post_save.connect(receiver, sender=AuditEvent, dispatch_uid="test-audit-listener")
    try:
        _token_issued_event(client, user, application)
    finally:
        post_save.disconnect(dispatch_uid="test-audit-listener", sender=AuditEvent)
    assert ("token.issued", True) in seen


def test_refreshed_id_token_is_stored_with_its_access_token(client, user, application):
    request, code = signed_in_code(client, user, application, logout=True)
    first = exchange(client, application, request, code).json()
    refreshed = post_refresh(client, application, first["refresh_token"]).json()
    assert AccessToken.objects.get(id_token__jti=_jti(refreshed["id_token"])).user == user


def test_id_token_is_stored_when_dot_updates_the_access_token_in_place(client, user, application, settings):
    # Without refresh-token rotation (refused by check provider_app.E006, but possible), DOT
    # updates the access token in place and creates none: the ID token is stored all the same.
    request, code = signed_in_code(client, user, application, logout=True)
    first = exchange(client, application, request, code).json()
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ROTATE_REFRESH_TOKEN": False}
    refreshed = post_refresh(client, application, first["refresh_token"]).json()
    assert "id_token" in refreshed, refreshed
    assert IDToken.objects.filter(jti=_jti(refreshed["id_token"])).exists()


@pytest.mark.django_db(transaction=True)
def test_code_exchange_sends_its_rows_without_a_transaction_round_trip(
    client, user, application, monkeypatch
):
    # Everything the exchange writes (the code's claim included) is in the batch: on PostgreSQL
    # it goes alone, after DOT's transaction that sent nothing, as one self-contained statement.
    from django.db import connection

    from provider_app.internal.storage import RowBatch

    request, code = signed_in_code(client, user, application, logout=True)
    flushed_in_transaction = []
    real_flush = RowBatch.flush

    def flush(batch):
        if batch._all_steps():
            flushed_in_transaction.append(connection.in_atomic_block)
        return real_flush(batch)

    monkeypatch.setattr(RowBatch, "flush", flush)
    assert exchange(client, application, request, code).status_code == 200
    assert flushed_in_transaction == [connection.vendor != "postgresql"]
    assert not Grant.objects.exists() and RedeemedCode.objects.count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "provider_app_code_claimed",
        "provider_app_grant",
        "provider_app_state",
        "provider_app_pending_id_token",
    ],
)
def test_p26_request_parameters_never_reach_the_token_requests_state(name, user, application):
    """oauthlib answers an unknown attribute of its request from the request's parameters: the state
    between the validator's steps (TokenRequestState) is kept where a parameter cannot reach it.
    A refresh with ``provider_app_code_claimed=1`` used to answer 500."""
    from django.test import Client

    client = Client(raise_request_exception=False)
    request, code = signed_in_code(client, user, application)
    tokens = exchange(client, application, request, code).json()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": application.client_id,
        "client_secret": application.raw_secret,
        name: "1",
    }
    response = client.post("/o/token/", form)
    assert response.status_code == 200, response.content
