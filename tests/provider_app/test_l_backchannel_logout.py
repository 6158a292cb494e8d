"""OpenID Connect Back-Channel Logout, the provider's side (L1-L3, L7, L8) and the outbox that
delivers logout tokens (E4-E6).

Relying parties are a local HTTP server (tests/provider_app/backchannel_receiver.py); the end-to-end
test with client_app's receiver is tests/e2e/test_l_backchannel_logout_e2e.py.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import django
import pytest
import time_machine
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from jwcrypto import jwt

from provider_app.internal import backchannel_logout, outbox
from provider_app.models import ClientPolicy, OutboundDelivery, SignedInClient
from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import fetch_jwks, issue_tokens, post_refresh, rp_logout
from tests.processes import free_port
from tests.provider_app.backchannel_receiver import Receiver

pytestmark = pytest.mark.django_db

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Django 6's own tasks framework, or the backport on 5.2.
IMMEDIATE_BACKEND = (
    "django.tasks.backends.immediate.ImmediateBackend"
    if django.VERSION >= (6, 0)
    else "django_tasks.backends.immediate.ImmediateBackend"
)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def register(application, uri: str, *, session_required: bool = False) -> ClientPolicy:
    policy, _ = ClientPolicy.objects.update_or_create(
        application=application,
        defaults={"backchannel_logout_uri": uri, "backchannel_logout_session_required": session_required},
    )
    return policy


@pytest.fixture
def rp(application, receiver):
    """``application`` registered with the receiver as its back-channel logout URI."""
    register(application, receiver.url)
    return application


def claims_of(token: str) -> dict:
    return json.loads(jwt.JWT(jwt=token).token.objects["payload"].decode())


def id_token_claims(tokens: dict) -> dict:
    return claims_of(tokens["id_token"])


def deliveries(**filters) -> list[OutboundDelivery]:
    return list(OutboundDelivery.objects.filter(**filters).order_by("pk"))


def deliver_all() -> None:
    for delivery in deliveries():
        outbox.deliver(delivery.pk)


# -- L1: sid in ID tokens, discovery, registration --------------------------------------------------


def test_l1_id_tokens_carry_a_stable_sid_that_is_not_the_session_key(client, user, application):
    first = issue_tokens(client, user, application)
    other_client = ApplicationFactory()
    second = issue_tokens(client, user, other_client)
    sid = id_token_claims(first)["sid"]
    assert id_token_claims(second)["sid"] == sid  # one provider session, one sid
    assert len(sid) >= 40  # 256 random bits
    assert sid != client.session.session_key and sid not in client.session.session_key
    refreshed = post_refresh(client, application, first["refresh_token"]).json()
    assert id_token_claims(refreshed)["sid"] == sid  # OIDC Core 12.2: the same session
    another_browser = issue_tokens(Client(), user, application)
    assert id_token_claims(another_browser)["sid"] != sid


def test_l1_the_sid_goes_to_the_client_only_never_into_an_access_token(client, user, application):
    from tests.oauth_helpers import register_resource

    notes = "https://notes.example.com/"
    register_resource(notes, application, scopes="notes:read", token_format="jwt")
    tokens = issue_tokens(client, user, application, resource=notes, scope="openid notes:read")
    assert "sid" in id_token_claims(tokens)
    access_token_claims = claims_of(tokens["access_token"])  # RFC 9068: a JWT for the service
    assert access_token_claims["aud"] == notes and "auth_time" in access_token_claims
    assert "sid" not in access_token_claims  # no resource server learns the session handle


def test_l1_discovery_says_back_channel_logout_with_sid(client):
    discovery = client.get("/o/.well-known/openid-configuration").json()
    assert discovery["backchannel_logout_supported"] is True
    assert discovery["backchannel_logout_session_supported"] is True
    assert "sid" in discovery["claims_supported"]


@pytest.mark.parametrize(
    "uri, allowed",
    [
        ("https://rp.example.com/backchannel-logout", True),
        ("https://rp.example.com/bcl?tenant=1", True),
        ("http://127.0.0.1:8000/client/demo/backchannel-logout/", True),
        ("http://localhost/bcl", True),
        ("http://rp.example.com/bcl", False),
        ("https://rp.example.com/bcl#fragment", False),
        ("com.example.app:/bcl", False),
        ("/relative", False),
    ],
)
def test_l1_the_admin_takes_https_or_loopback_back_channel_logout_uris(uri, allowed):
    from provider_app.admin import ClientPolicyForm

    application = ApplicationFactory()
    form = ClientPolicyForm(
        data={"application": application.pk, "backchannel_logout_uri": uri, "resource_identifiers": ""},
        instance=ClientPolicy(application=application),
    )
    assert form.is_valid() is allowed, form.errors


def test_l1_a_plain_http_uri_registered_around_the_admin_is_never_posted_to(client, user, application):
    register(application, "http://rp.example.com/bcl")  # e.g. by code or a data migration
    issue_tokens(client, user, application)
    client.post("/account/logout/")
    assert deliveries() == []


def test_l1_loopback_http_is_refused_in_production_unless_allowed(client, user, rp, receiver, settings):
    # Production (DEBUG off, nothing set): the provider would otherwise POST to whatever listens on
    # its own machine for whoever registers http://127.0.0.1:<port>/...
    del settings.PROVIDER_APP_DELIVERY_ALLOW_LOOPBACK
    settings.DEBUG = False
    from provider_app.admin import ClientPolicyForm

    form = ClientPolicyForm(
        data={"application": rp.pk, "backchannel_logout_uri": receiver.url, "resource_identifiers": ""},
        instance=ClientPolicy.objects.get(application=rp),
    )
    assert not form.is_valid()
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    assert deliveries() == []  # registered before: never posted to either
    settings.DEBUG = True  # the demo: allowed
    assert ClientPolicyForm(
        data={"application": rp.pk, "backchannel_logout_uri": receiver.url, "resource_identifiers": ""},
        instance=ClientPolicy.objects.get(application=rp),
    ).is_valid()


def test_l1_the_admin_client_page_shows_the_registration(verified_admin_client, application):
    register(application, "https://rp.example.com/bcl", session_required=True)
    page = verified_admin_client.get(f"/admin/oauth2_provider/application/{application.pk}/change/")
    assert page.status_code == 200
    assert b"backchannel_logout_uri" in page.content
    assert b"backchannel_logout_session_required" in page.content


def test_l1_each_code_exchange_records_the_client_of_the_session(client, user, application):
    tokens = issue_tokens(client, user, application)
    row = SignedInClient.objects.get()
    assert (row.sid, row.user, row.application) == (id_token_claims(tokens)["sid"], user, application)
    assert row.issuer == id_token_claims(tokens)["iss"]
    post_refresh(client, application, tokens["refresh_token"])
    assert SignedInClient.objects.count() == 1  # a refresh signs nothing new in


# -- L2: the logout token ------------------------------------------------------------------------------


def test_l2_the_logout_token_is_typed_signed_and_has_the_claims_of_the_spec(client, user, rp, receiver):
    tokens = issue_tokens(client, user, rp)
    client.post("/account/logout/")
    deliver_all()
    [received] = receiver.received
    assert received["content_type"] == "application/x-www-form-urlencoded"
    raw = received["form"]["logout_token"][0]
    _discovery, keyset = fetch_jwks(client)
    token = jwt.JWT(jwt=raw, key=keyset, algs=["RS256"], expected_type="JWS")
    header, claims = token.token.jose_header, json.loads(token.claims)
    assert header["typ"] == "logout+jwt" and header["alg"] == "RS256" and header["kid"]
    id_claims = id_token_claims(tokens)
    assert claims["iss"] == id_claims["iss"]
    assert claims["aud"] == rp.client_id
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert claims["jti"] and claims["jti"] != id_claims["jti"]
    assert abs(claims["iat"] - time.time()) < 60
    assert 0 < claims["exp"] - claims["iat"] <= 120  # short-lived
    assert "nonce" not in claims


def test_l2_no_signed_token_rests_in_the_outbox(client, user, rp):
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    stored = json.dumps(delivery.claims)
    assert "iat" not in delivery.claims and "exp" not in delivery.claims  # signed at each attempt
    assert "eyJ" not in stored and "eyJ" not in delivery.last_error


# -- L3: every way a session ends ---------------------------------------------------------------------


def notified(receiver) -> list[tuple[str, str | None, str]]:
    """(aud, sid, sub) of each delivered logout token."""
    deliver_all()
    return [(c["aud"], c.get("sid"), c["sub"]) for c in map(claims_of, receiver.tokens())]


def test_l3_the_providers_logout_view_notifies_the_sessions_clients(client, user, rp, receiver):
    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    assert client.post("/account/logout/").status_code in (200, 302)
    assert notified(receiver) == [(rp.client_id, sid, str(user.pk))]
    assert not SignedInClient.objects.exists()


def test_l3_rp_initiated_logout_notifies_the_sessions_clients(client, user, rp, receiver):
    tokens = issue_tokens(client, user, rp)
    _page, response = rp_logout(client, {"id_token_hint": tokens["id_token"]})
    assert response.status_code == 302
    assert notified(receiver) == [(rp.client_id, id_token_claims(tokens)["sid"], str(user.pk))]


def test_l3_only_that_session_and_only_clients_with_a_uri(client, user, rp, receiver):
    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    issue_tokens(client, user, ApplicationFactory())  # no back-channel logout URI: nothing to send
    other_browser = Client()
    other_sid = id_token_claims(issue_tokens(other_browser, user, rp))["sid"]
    client.post("/account/logout/")
    assert notified(receiver) == [(rp.client_id, sid, str(user.pk))]
    assert SignedInClient.objects.get().sid == other_sid  # the other session goes on


def test_l3_an_admin_action_signs_a_user_out_of_every_client(verified_admin_client, user, rp, receiver):
    sids = {id_token_claims(issue_tokens(Client(), user, rp))["sid"] for _ in range(2)}
    rows = SignedInClient.objects.filter(user=user)
    response = verified_admin_client.post(
        "/admin/provider_app/signedinclient/",
        {"action": "end_sessions", "_selected_action": [rows.first().pk]},
    )
    assert response.status_code == 302
    assert sorted(notified(receiver)) == sorted((rp.client_id, sid, str(user.pk)) for sid in sids)


def test_l3_a_password_change_signs_the_user_out_of_every_client(client, user, rp, receiver):
    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    user.first_name = "Renamed"
    user.save()  # not a session-ending change
    assert deliveries() == []
    user.set_password("a new and long password")
    user.save()
    assert notified(receiver) == [(rp.client_id, sid, str(user.pk))]


def test_l3_the_password_change_page_signs_the_user_out_of_every_client(client, user, rp, receiver):
    from tests.factories import USER_PASSWORD

    issue_tokens(client, user, rp)
    form = {
        "old_password": USER_PASSWORD,
        "new_password1": "x7-new-long-pass",
        "new_password2": "x7-new-long-pass",
    }
    from django.contrib.auth.forms import PasswordChangeForm

    password_form = PasswordChangeForm(user, form)
    assert password_form.is_valid(), password_form.errors
    password_form.save()
    assert [aud for aud, _sid, _sub in notified(receiver)] == [rp.client_id]


def test_l3_deactivating_the_user_signs_them_out_of_every_client(client, user, rp, receiver):
    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert notified(receiver) == [(rp.client_id, sid, str(user.pk))]


def test_l3_deleting_the_user_signs_them_out_of_every_client(client, user, rp, receiver):
    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    user_pk = user.pk
    user.delete()
    assert notified(receiver) == [(rp.client_id, sid, str(user_pk))]


def test_l3_another_user_signing_in_on_the_same_browser_ends_the_previous_session(client, user, rp, receiver):
    from tests.factories import USER_PASSWORD

    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    other = UserFactory()
    # Django empties the session for the new user without user_logged_out.
    signed_in = client.post("/account/login/", {"username": other.username, "password": USER_PASSWORD})
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(other.pk)
    assert notified(receiver) == [(rp.client_id, sid, str(user.pk))]
    # The same user signing in again is not another session's end.
    client.post("/account/login/", {"username": other.username, "password": USER_PASSWORD})
    assert len(receiver.received) == 1


def test_l3_another_user_signing_in_with_a_second_factor_ends_the_previous_session(
    client, user, rp, receiver
):
    from tests.provider_app.two_factor_helpers import login_two_factor, make_device

    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    other = UserFactory()
    login_two_factor(client, other, make_device(other))
    assert client.session["_auth_user_id"] == str(other.pk)
    assert notified(receiver) == [(rp.client_id, sid, str(user.pk))]


def test_l3_removing_consent_on_the_connected_apps_page_signs_that_client_out(client, user, rp, receiver):
    sid = id_token_claims(issue_tokens(client, user, rp))["sid"]
    other = ApplicationFactory()
    register(other, receiver.url)
    issue_tokens(client, user, other)
    response = client.post("/account/connected-apps/", {"application": rp.pk})
    assert response.status_code == 303
    assert notified(receiver) == [(rp.client_id, sid, str(user.pk))]  # only that client
    assert SignedInClient.objects.get().application == other


def test_l3_without_a_recorded_session_a_client_gets_a_token_for_the_subject(client, user, rp, receiver):
    issue_tokens(client, user, rp)
    SignedInClient.objects.all().delete()  # e.g. tokens issued before sessions were recorded
    client.post("/account/connected-apps/", {"application": rp.pk})
    assert notified(receiver) == [(rp.client_id, None, str(user.pk))]


def test_l3_a_client_that_requires_sid_never_gets_a_token_without_it(client, user, application, receiver):
    register(application, receiver.url, session_required=True)
    issue_tokens(client, user, application)
    SignedInClient.objects.all().delete()
    client.post("/account/connected-apps/", {"application": application.pk})
    assert notified(receiver) == []


# -- L7: never in the request -------------------------------------------------------------------------


def test_l7_the_request_that_ends_the_session_only_writes_and_enqueues(
    client, user, rp, receiver, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    issue_tokens(client, user, rp)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/logout/")
    assert receiver.received == []  # the request sent nothing
    [delivery] = deliveries(state=OutboundDelivery.PENDING)
    [task] = DBTaskResult.objects.all()  # handed to the database task backend, after the commit
    assert task.task_path == "provider_app.internal.outbox.deliver_task"
    assert task.args_kwargs == {"args": [delivery.pk], "kwargs": {}}
    outbox.deliver_task.call(delivery.pk)  # what the worker runs
    assert len(receiver.received) == 1


@override_settings(TASKS={"default": {"BACKEND": IMMEDIATE_BACKEND}})
def test_l7_a_backend_that_runs_tasks_at_once_is_not_used_and_a_check_says_so(
    client, user, rp, receiver, django_capture_on_commit_callbacks
):
    from provider_app.checks import check_delivery_task_backend

    issue_tokens(client, user, rp)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/logout/")
    assert receiver.received == []
    assert [message.id for message in check_delivery_task_backend()] == ["provider_app.W040"]
    call_command("provider_app_deliver")  # cron's way
    assert len(receiver.received) == 1


# -- L8 / E5: retries with backoff until delivered or expired ------------------------------------------


def test_l8_a_receiver_down_failing_slow_then_back_gets_the_token_once_in_effect(client, user, rp, receiver):
    closed_port = free_port()
    ClientPolicy.objects.filter(application=rp).update(
        backchannel_logout_uri=f"http://127.0.0.1:{closed_port}/bcl"
    )
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    start = timezone.now()

    def attempt(after_seconds: float) -> OutboundDelivery:
        with time_machine.travel(start + timedelta(seconds=after_seconds), tick=True):
            assert outbox.deliver(delivery.pk) in (OutboundDelivery.FAILED, OutboundDelivery.DELIVERED)
        return OutboundDelivery.objects.get(pk=delivery.pk)

    down = attempt(0)  # nobody listens
    assert (down.state, down.attempts, down.last_error) == ("failed", 1, "ConnectionError")
    assert down.next_attempt_at - start >= timedelta(seconds=5)
    # Not due yet: nothing is sent.
    assert outbox.deliver(delivery.pk) == OutboundDelivery.FAILED and receiver.received == []
    ClientPolicy.objects.filter(application=rp).update(backchannel_logout_uri=receiver.url)
    OutboundDelivery.objects.filter(pk=delivery.pk).update(target_url=receiver.url)
    receiver.mode = "error"
    failing = attempt(6)
    assert (failing.attempts, failing.last_error) == (2, "HTTP 500")
    assert failing.next_attempt_at - (start + timedelta(seconds=6)) >= timedelta(seconds=10)  # doubled
    receiver.mode, receiver.delay = "slow", 2.0
    with override_settings(PROVIDER_APP_DELIVERY_TIMEOUT_SECONDS=0.5):
        slow = attempt(20)
    assert (slow.attempts, slow.last_error) == (3, "ReadTimeout")
    receiver.mode = "ok"
    delivered = attempt(60)
    assert (delivered.state, delivered.attempts, delivered.last_error) == ("delivered", 4, "")
    # Three tokens reached the receiver (500, slow, ok), all with the same jti: the receiver acts
    # once (OIDC BCL 2.6 step 7); each was signed at its attempt, so none is stale.
    received = [claims_of(token) for token in receiver.tokens()]
    assert len(received) == 3 and len({claims["jti"] for claims in received}) == 1
    assert len({claims["iat"] for claims in received}) == 3
    assert outbox.deliver(delivery.pk) == OutboundDelivery.DELIVERED and len(receiver.received) == 3


def test_l8_a_delivery_is_decided_by_the_status_line_and_never_reads_the_body(client, user, rp, receiver):
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    receiver.mode, receiver.delay = "endless", 3.0
    with override_settings(PROVIDER_APP_DELIVERY_TIMEOUT_SECONDS=0.5):
        assert outbox.deliver(delivery.pk) == OutboundDelivery.DELIVERED
    assert len(receiver.received) == 1


def test_l8_a_receiver_answering_one_byte_at_a_time_cannot_hold_the_worker(client, user, rp):
    from tests.processes import trickle_server

    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    # Each byte of the status line and headers comes well within the read timeout; all of them
    # would take about 20 s.
    with trickle_server(b"{}", seconds_per_byte=0.2, slow_headers=True) as url:
        OutboundDelivery.objects.filter(pk=delivery.pk).update(target_url=url)
        with override_settings(PROVIDER_APP_DELIVERY_TIMEOUT_SECONDS=0.5):
            assert outbox.deliver(delivery.pk) == OutboundDelivery.FAILED
    failed = OutboundDelivery.objects.get(pk=delivery.pk)
    assert failed.last_error == "DeadlineExceeded"  # cut at twice the timeout, then retried later


def test_e5_the_backoff_doubles_up_to_its_cap():
    with override_settings(
        PROVIDER_APP_DELIVERY_BACKOFF_SECONDS=5, PROVIDER_APP_DELIVERY_MAX_BACKOFF_SECONDS=60
    ):
        waits = [outbox.backoff(attempts).total_seconds() for attempts in range(1, 8)]
    assert waits == [5, 10, 20, 40, 60, 60, 60]


def test_e5_a_delivery_is_not_attempted_once_it_is_useless(client, user, rp, receiver):
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    with time_machine.travel(delivery.expires_at + timedelta(seconds=1), tick=False):
        assert outbox.deliver(delivery.pk) == OutboundDelivery.EXPIRED
    assert receiver.received == []


def test_e5_the_last_retry_is_at_the_expiry(client, user, rp, receiver):
    receiver.mode = "error"
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    OutboundDelivery.objects.filter(pk=delivery.pk).update(expires_at=timezone.now() + timedelta(seconds=3))
    outbox.deliver(delivery.pk)
    failed = OutboundDelivery.objects.get(pk=delivery.pk)
    assert failed.state == OutboundDelivery.FAILED and failed.next_attempt_at == failed.expires_at
    # The last attempt is made (at or after the expiry), and it is the last.
    receiver.mode = "ok"
    with time_machine.travel(failed.expires_at + timedelta(seconds=2), tick=False):
        assert outbox.deliver(delivery.pk) == OutboundDelivery.DELIVERED
    assert len(receiver.received) == 2


def test_e5_a_failed_last_attempt_expires_the_delivery(client, user, rp, receiver):
    receiver.mode = "error"
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    expiry = timezone.now() + timedelta(seconds=3)
    OutboundDelivery.objects.filter(pk=delivery.pk).update(expires_at=expiry, next_attempt_at=expiry)
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):
        assert outbox.deliver(delivery.pk) == OutboundDelivery.EXPIRED
        assert outbox.deliver(delivery.pk) == OutboundDelivery.EXPIRED  # and nothing after it
    expired = OutboundDelivery.objects.get(pk=delivery.pk)
    assert (expired.attempts, expired.last_error, len(receiver.received)) == (1, "HTTP 500", 1)


def test_l8_a_worker_that_outlived_its_lease_never_overwrites_the_next_attempt(client, user, rp, receiver):
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    real_post = outbox._post

    def slow_post(row):
        # Meanwhile the lease ended and another worker delivered the message.
        OutboundDelivery.objects.filter(pk=row.pk).update(
            state=OutboundDelivery.DELIVERED, next_attempt_at=timezone.now(), attempts=1
        )
        real_post(row)
        return "ReadTimeout"

    outbox._post = slow_post
    try:
        outbox.deliver(delivery.pk)
    finally:
        outbox._post = real_post
    assert OutboundDelivery.objects.get(pk=delivery.pk).state == OutboundDelivery.DELIVERED


# -- E4: written with the change; nothing lost -------------------------------------------------------


def test_e4_the_delivery_is_written_in_the_transaction_of_the_change(client, user, rp):
    from django.db import transaction

    issue_tokens(client, user, rp)
    with pytest.raises(RuntimeError), transaction.atomic():
        user.is_active = False
        user.save()
        assert len(deliveries()) == 1
        raise RuntimeError("the change is rolled back")
    assert deliveries() == []  # no message about a change that did not happen
    assert SignedInClient.objects.count() == 1  # and the session is still known


def test_e4_the_task_is_enqueued_only_after_the_commit(client, user, rp, django_capture_on_commit_callbacks):
    issue_tokens(client, user, rp)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/account/logout/")
    assert len(callbacks) >= 1 and len(deliveries()) == 1


def test_e4_a_delivery_whose_task_was_lost_is_sent_by_the_command(client, user, rp, receiver):
    issue_tokens(client, user, rp)
    client.post("/account/logout/")  # no on_commit here: the task never reached the queue
    call_command("provider_app_deliver", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert len(receiver.received) == 1
    assert deliveries()[0].state == OutboundDelivery.DELIVERED


def test_e4_an_attempt_in_progress_is_not_repeated_by_another_worker(client, user, rp, receiver, monkeypatch):
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    seen_during_attempt = []
    receiver_post = outbox.requests.Session.post

    def post_and_race(session, *args, **kwargs):
        seen_during_attempt.append(outbox.deliver(delivery.pk))  # a second worker, meanwhile
        return receiver_post(session, *args, **kwargs)

    monkeypatch.setattr(outbox.requests.Session, "post", post_and_race)
    assert outbox.deliver(delivery.pk) == OutboundDelivery.DELIVERED
    assert seen_during_attempt == [OutboundDelivery.PENDING] and len(receiver.received) == 1


# -- E6: the admin -------------------------------------------------------------------------------------


@pytest.fixture
def failed_delivery(client, user, rp, receiver):
    receiver.mode = "error"
    issue_tokens(client, user, rp)
    client.post("/account/logout/")
    [delivery] = deliveries()
    outbox.deliver(delivery.pk)
    receiver.mode = "ok"
    return OutboundDelivery.objects.get(pk=delivery.pk)


def test_e6_the_admin_lists_failed_deliveries_and_never_shows_a_token(verified_admin_client, failed_delivery):
    page = verified_admin_client.get("/admin/provider_app/outbounddelivery/", {"state__exact": "failed"})
    assert page.status_code == 200
    assert failed_delivery.target_url.encode() in page.content and b"HTTP 500" not in page.content
    detail = verified_admin_client.get(f"/admin/provider_app/outbounddelivery/{failed_delivery.pk}/change/")
    assert detail.status_code == 200 and b"HTTP 500" in detail.content
    for content in (page.content, detail.content):
        assert b"eyJ" not in content
        assert failed_delivery.claims["sid"].encode() not in content
        assert failed_delivery.claims["jti"].encode() not in content
    empty = verified_admin_client.get("/admin/provider_app/outbounddelivery/", {"state__exact": "delivered"})
    assert failed_delivery.target_url.encode() not in empty.content
    assert verified_admin_client.get("/admin/provider_app/outbounddelivery/add/").status_code == 403


def test_e6_retry_now_makes_a_failed_or_expired_delivery_due(
    verified_admin_client, failed_delivery, receiver
):
    OutboundDelivery.objects.filter(pk=failed_delivery.pk).update(
        state=OutboundDelivery.EXPIRED, expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = verified_admin_client.post(
        "/admin/provider_app/outbounddelivery/",
        {"action": "retry_now", "_selected_action": [failed_delivery.pk]},
    )
    assert response.status_code == 302
    retried = OutboundDelivery.objects.get(pk=failed_delivery.pk)
    assert retried.state == OutboundDelivery.PENDING and retried.expires_at > timezone.now()
    assert retried.next_attempt_at <= timezone.now()
    call_command("provider_app_deliver", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert OutboundDelivery.objects.get(pk=failed_delivery.pk).state == OutboundDelivery.DELIVERED


def test_e6_staff_who_may_only_view_cannot_retry(client, failed_delivery):
    from django.contrib.auth.models import Permission

    from tests.oauth_helpers import verified_client

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outbounddelivery"))
    browser = verified_client(viewer)
    assert browser.get("/admin/provider_app/outbounddelivery/").status_code == 200
    browser.post(
        "/admin/provider_app/outbounddelivery/",
        {"action": "retry_now", "_selected_action": [failed_delivery.pk]},
    )
    assert OutboundDelivery.objects.get(pk=failed_delivery.pk).state == OutboundDelivery.FAILED


def test_l3_logout_of_a_session_that_signed_in_nowhere_sends_nothing(client, user, rp):
    client.force_login(user)
    client.post("/account/logout/")
    assert deliveries() == []
    assert backchannel_logout.user_sessions_ended(user) == 0


@pytest.mark.django_db(transaction=True)
def test_l8_the_database_worker_delivers_and_schedules_the_retry(user, rp, receiver):
    """The real path: the commit enqueues a task in the database, ``db_worker`` runs it; a failed
    attempt leaves a task for the next attempt, deferred (``run_after``) by the backoff."""
    from django_tasks_db.models import DBTaskResult

    browser = Client()
    issue_tokens(browser, user, rp)
    receiver.mode = "error"
    browser.post("/account/logout/")
    worker = ["db_worker", "--batch", "--no-startup-delay", "--no-reload"]
    call_command(*worker, stdout=open("/dev/null", "w"))  # noqa: SIM115
    [delivery] = deliveries()
    assert (delivery.state, delivery.attempts) == (OutboundDelivery.FAILED, 1)
    retry = DBTaskResult.objects.order_by("enqueued_at").last()
    assert retry.status == "READY" and retry.run_after == delivery.next_attempt_at
    receiver.mode = "ok"
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # the wait is over
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    call_command(*worker, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert deliveries()[0].state == OutboundDelivery.DELIVERED
    assert len(receiver.received) == 2 and len({claims_of(t)["jti"] for t in receiver.tokens()}) == 1
