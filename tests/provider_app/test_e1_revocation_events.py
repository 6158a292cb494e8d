"""E1: every revocation at the provider tells the resource servers of the revoked JWTs' audiences
(a Security Event Token, RFC 8417, pushed through the outbox, RFC 8935).

Services are a local HTTP server (tests/provider_app/backchannel_receiver.py) that records each SET;
end to end, with resource_app's receiver and views refusing the revoked token, in
tests/e2e/test_e1_revocation_events_e2e.py.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.models import get_access_token_model, get_application_model

from provider_app.internal import outbox
from provider_app.internal.revocation_events import SESSION_REVOKED
from provider_app.internal.tokens import revoke_client_tokens
from provider_app.models import OutboundDelivery, ResourceServer
from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    basic_auth,
    client_credentials,
    exchange,
    fetch_jwks,
    get_code,
    issue_tokens,
    post_refresh,
    register_resource,
    request_for,
    rp_logout,
)
from tests.provider_app.backchannel_receiver import Receiver
from tests.provider_app.test_x_token_exchange import USER_SCOPE, A, B, C, Chain
from tests.provider_app.test_x_token_exchange import exchange as token_exchange

pytestmark = pytest.mark.django_db

NOTES = "https://notes.example.com/"
FILES = "https://files.example.com/"
SCOPE = "openid notes:read offline_access"
SET_MEDIA_TYPE = "application/secevent+jwt"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def notes(application, receiver):
    """A JWT-mode service that registered the receiver as its events URI."""
    return register_resource(
        NOTES, application, scopes="notes:read", token_format="jwt", events_uri=receiver.url
    )


def claims_of(token: str) -> dict:
    return json.loads(jwt.JWT(jwt=token).token.objects["payload"].decode())


def jti_of(access_token: str) -> str:
    return claims_of(access_token)["jti"]


def events() -> list[dict]:
    """The claims of each queued SET, oldest first."""
    rows = OutboundDelivery.objects.filter(kind=OutboundDelivery.SECURITY_EVENT).order_by("pk")
    return [row.claims for row in rows]


def revoked_jtis() -> list[str]:
    return [claims["sub_id"]["jti"] for claims in events() if claims["sub_id"]["format"] == "jwt_id"]


def revoke(client, application, token: str, hint: str = ""):
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    authorization = basic_auth(application.client_id, application.raw_secret)
    response = client.post("/o/revoke_token/", data, HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200, response.content
    return response


# -- registration ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://notes.example.com/events/", True),
        ("http://127.0.0.1:8001/events/", True),
        ("http://notes.example.com/events/", False),
        ("https://notes.example.com/events/#x", False),
        ("", True),
    ],
)
def test_e1_the_command_takes_https_or_loopback_events_uris(uri, allowed):
    command = [
        "provider_app_register_resource",
        f"--identifier={NOTES}",
        "--name=Notes",
        "--scopes=notes:read",
        f"--events-uri={uri}",
    ]
    if not allowed:
        with pytest.raises(CommandError):
            call_command(*command, stdout=io.StringIO())
        assert not ResourceServer.objects.exists()
        return
    call_command(*command, stdout=io.StringIO())
    assert ResourceServer.objects.get().events_uri == uri
    call_command(*command[:-1], stdout=io.StringIO())  # not given: kept
    assert ResourceServer.objects.get().events_uri == uri


def test_e1_the_admin_refuses_a_plain_http_events_uri(verified_admin_client):
    form = {
        "identifier": NOTES,
        "name": "Notes",
        "scopes": "notes:read",
        "token_format": "jwt",
        "events_uri": "http://notes.example.com/events/",
    }
    response = verified_admin_client.post("/admin/provider_app/resourceserver/add/", form)
    assert response.status_code == 200 and not ResourceServer.objects.exists()
    form["events_uri"] = "https://notes.example.com/events/"
    response = verified_admin_client.post("/admin/provider_app/resourceserver/add/", form)
    assert response.status_code == 302
    assert ResourceServer.objects.get().events_uri == form["events_uri"]


# -- the SET ----------------------------------------------------------------------------------------------


def test_e1_the_set_is_typed_signed_and_names_the_revoked_jwt(client, user, application, notes, receiver):
    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    revoke(Client(), application, tokens["access_token"])
    [delivery] = OutboundDelivery.objects.filter(kind=OutboundDelivery.SECURITY_EVENT)
    assert outbox.deliver(delivery.pk) == OutboundDelivery.DELIVERED
    [posted] = receiver.received
    assert posted["content_type"] == SET_MEDIA_TYPE  # RFC 8935 2
    _discovery, keys = fetch_jwks(client)
    verified = jwt.JWT(jwt=posted["body"], key=keys, algs=["RS256"])  # the provider's published key
    header = json.loads(verified.header)
    assert header["typ"] == "secevent+jwt"  # RFC 8417 2.3
    claims = json.loads(verified.claims)
    issuer = claims_of(tokens["access_token"])["iss"]
    assert claims["iss"] == issuer and claims["aud"] == NOTES
    assert claims["sub_id"] == {"format": "jwt_id", "iss": issuer, "jti": jti_of(tokens["access_token"])}
    assert list(claims["events"]) == [SESSION_REVOKED]
    assert claims["events"][SESSION_REVOKED]["event_timestamp"] <= claims["iat"] < claims["exp"]
    assert len(claims["jti"]) >= 32 and "nonce" not in claims


def test_e1_the_outbox_holds_claims_and_expires_with_the_revoked_token(client, user, application, notes):
    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    expires = get_access_token_model().objects.get(application=application).expires
    revoke(Client(), application, tokens["access_token"])
    delivery = OutboundDelivery.objects.get(kind=OutboundDelivery.SECURITY_EVENT)
    assert delivery.target_url == notes.events_uri
    assert delivery.expires_at == expires  # E5: useless once the token has expired anyway
    assert tokens["access_token"] not in json.dumps(delivery.claims)


def test_e1_the_jwts_jti_is_kept_with_its_hash_never_the_token(client, user, application, notes):
    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    stored = get_access_token_model().objects.get(application=application)
    claims = claims_of(tokens["access_token"])
    assert stored.token == f"jwt-id:{claims['jti']} {claims['iss']}"
    assert tokens["access_token"] not in stored.token


def test_e1_an_admin_edit_of_a_jwts_row_keeps_the_token_usable(client, user, application, notes):
    from django.contrib import admin

    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    AccessToken = get_access_token_model()
    stored = AccessToken.objects.get(application=application)
    checksum = stored.token_checksum
    stored.scope = "notes:read"
    admin.site._registry[AccessToken].save_model(None, stored, None, change=True)
    assert AccessToken.objects.get(pk=stored.pk).token_checksum == checksum
    revoke(Client(), application, tokens["access_token"])  # still found by its hash
    assert revoked_jtis() == [jti_of(tokens["access_token"])]


# -- the triggers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_e1_the_revocation_endpoint(client, user, application, notes, which):
    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    revoke(Client(), application, tokens[which], which)
    assert revoked_jtis() == [jti_of(tokens["access_token"])]


def test_e1_logout_that_revokes_the_clients_tokens(settings, client, user, application, notes):
    settings.PROVIDER_APP_LOGOUT_REVOKES_CLIENT_TOKENS = True
    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    _page, response = rp_logout(client, {"id_token_hint": tokens["id_token"]})
    assert response.status_code == 302
    assert revoked_jtis() == [jti_of(tokens["access_token"])]


def test_e1_removing_the_client_on_the_connected_apps_page(client, user, application, notes):
    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    assert client.post("/account/connected-apps/", {"application": application.pk}).status_code == 303
    assert revoked_jtis() == [jti_of(tokens["access_token"])]


def test_e1_refresh_token_reuse_revokes_the_family(client, user, application, notes):
    first = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    refreshed = post_refresh(Client(), application, first["refresh_token"])
    assert refreshed.status_code == 200
    assert events() == []  # a rotation replaces the old token at its client's request: no event
    assert post_refresh(Client(), application, first["refresh_token"]).status_code == 400
    assert revoked_jtis() == [jti_of(refreshed.json()["access_token"])]


def test_e1_code_replay_revokes_what_the_code_issued(client, user, application, notes):
    client.force_login(user)
    authorization = request_for(application, resource=NOTES, scope=SCOPE)
    code = get_code(client, authorization)
    first = exchange(Client(), application, authorization, code)
    assert first.status_code == 200
    assert exchange(Client(), application, authorization, code).status_code == 400
    assert revoked_jtis() == [jti_of(first.json()["access_token"])]


def test_e1_deactivating_the_user_tells_each_service_about_every_token_of_the_user(
    client, user, application, notes
):
    tokens = [issue_tokens(Client(), user, application, resource=NOTES, scope=SCOPE) for _ in range(2)]
    user.is_active = False
    user.save(update_fields=["is_active"])
    [claims] = events()  # one event for every token of the subject at that service
    issuer = claims_of(tokens[0]["access_token"])["iss"]
    assert claims["aud"] == NOTES
    assert claims["sub_id"] == {"format": "iss_sub", "iss": issuer, "sub": str(user.pk)}
    assert all(claims_of(t["access_token"])["iat"] <= claims["events"][SESSION_REVOKED]["event_timestamp"]
               for t in tokens)  # fmt: skip
    delivery = OutboundDelivery.objects.get(kind=OutboundDelivery.SECURITY_EVENT)
    assert delivery.expires_at == max(get_access_token_model().objects.values_list("expires", flat=True))


def test_e1_the_admin_revoking_every_token_of_a_client(verified_admin_client, user, application, notes):
    tokens = issue_tokens(Client(), user, application, resource=NOTES, scope=SCOPE)
    response = verified_admin_client.post(
        "/admin/oauth2_provider/application/",
        {"action": "revoke_all_tokens", "_selected_action": [application.pk]},
    )
    assert response.status_code == 302
    assert revoked_jtis() == [jti_of(tokens["access_token"])]


def test_e1_deleting_the_client(user, application, notes):
    tokens = issue_tokens(Client(), user, application, resource=NOTES, scope=SCOPE)
    get_application_model().objects.get(pk=application.pk).delete()
    assert revoked_jtis() == [jti_of(tokens["access_token"])]


def test_e1_exchanged_tokens_revoked_with_their_subject(client, user, application, receiver):
    chain = Chain(application)
    for server in (chain.a, chain.c):  # the JWT-mode services of the chain
        server.events_uri = receiver.url
        server.save()
    user_token = issue_tokens(client, user, application, resource=A, scope=USER_SCOPE + " offline_access")
    b_token = token_exchange(client, chain.svc_a, user_token["access_token"], B).json()["access_token"]
    c_token = token_exchange(client, chain.svc_b, b_token, C).json()["access_token"]
    revoke_client_tokens(user, application)
    assert sorted(revoked_jtis()) == sorted([jti_of(user_token["access_token"]), jti_of(c_token)])
    assert {claims["aud"] for claims in events()} == {A, C}  # B is opaque: it introspects


def test_e1_a_service_that_switched_to_opaque_is_still_told_about_its_live_jwts(
    client, user, application, notes
):
    tokens = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    ResourceServer.objects.filter(pk=notes.pk).update(token_format=ResourceServer.OPAQUE)
    revoke(Client(), application, tokens["access_token"])  # the JWT is still valid at the service
    assert revoked_jtis() == [jti_of(tokens["access_token"])]
    [delivery] = OutboundDelivery.objects.filter(kind=OutboundDelivery.SECURITY_EVENT)
    assert delivery.target_url == notes.events_uri and delivery.state == OutboundDelivery.PENDING


def test_e1_a_deactivated_user_is_told_to_a_service_that_switched_to_opaque(client, user, application, notes):
    issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    ResourceServer.objects.filter(pk=notes.pk).update(token_format=ResourceServer.OPAQUE)
    user.is_active = False
    user.save(update_fields=["is_active"])
    [claims] = events()
    assert claims["aud"] == NOTES and claims["sub_id"]["format"] == "iss_sub"


# -- bulk revocations: the services of an audience are looked up once ------------------------------------


def _service_tokens(client, notes, count: int):
    """``count`` live client_credentials JWTs of one service for NOTES."""
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    notes.allowed_clients.add(service)
    for _ in range(count):
        assert client_credentials(client, service, resource=NOTES, scope="notes:read").status_code == 200
    return service


OUTBOX_INSERT = 'INSERT INTO "provider_app_outbounddelivery"'


def _resource_server_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if '"provider_app_resourceserver"' in q["sql"]]


def test_e1_a_bulk_revocation_looks_up_the_services_once_per_audience(client, notes):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from provider_app.internal.tokens import revoke_access_tokens

    other_queries = {}
    for count in (2, 6):
        service = _service_tokens(client, notes, count)
        OutboundDelivery.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            assert revoke_access_tokens(get_access_token_model().objects.filter(application=service)) == count
        assert len(revoked_jtis()) == count  # one SET per revoked JWT...
        assert len(_resource_server_queries(captured)) == 1  # ... and one lookup of the audience's services
        inserts = [q for q in captured.captured_queries if q["sql"].startswith(OUTBOX_INSERT)]
        assert len(inserts) == count
        other_queries[count] = len(captured.captured_queries) - count
    assert other_queries[2] == other_queries[6]  # nothing else grows with the number of tokens


def test_e1_revoking_a_clients_tokens_looks_up_the_services_once(client, user, application, notes):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    issued = [issue_tokens(Client(), user, application, resource=NOTES, scope=SCOPE) for _ in range(3)]
    with CaptureQueriesContext(connection) as captured:
        revoke_client_tokens(user, application)  # three families, each with a live JWT
    assert sorted(revoked_jtis()) == sorted(jti_of(t["access_token"]) for t in issued)
    assert len(_resource_server_queries(captured)) == 1


def test_e1_a_rolled_back_bulk_revocation_queues_nothing(
    client, notes, receiver, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from provider_app.internal.tokens import revoke_access_tokens

    service = _service_tokens(client, notes, 3)
    tokens = get_access_token_model().objects.filter(application=service)
    with django_capture_on_commit_callbacks() as scheduled:
        with pytest.raises(RuntimeError), transaction.atomic():
            assert revoke_access_tokens(tokens) == 3
            raise RuntimeError("the revocation is rolled back")
    assert events() == [] and scheduled == [] and tokens.count() == 3
    # Nothing looked up there outlives the call: a service changed since is told at its new URI.
    ResourceServer.objects.filter(pk=notes.pk).update(events_uri="https://notes.example.com/events/")
    assert revoke_access_tokens(tokens) == 3
    targets = OutboundDelivery.objects.values_list("target_url", flat=True)
    assert set(targets) == {"https://notes.example.com/events/"} and len(targets) == 3


def test_e1_a_service_changed_during_a_bulk_revocation_is_looked_up_again(notes):
    from provider_app.internal import batch, revocation_events

    with batch.revocation():
        [before] = revocation_events._servers_told([NOTES])
        notes.events_uri = "https://notes.example.com/events/"
        notes.save()
        [after] = revocation_events._servers_told([NOTES])
        assert (before.events_uri, after.events_uri) != (notes.events_uri, notes.events_uri)
        assert after.events_uri == notes.events_uri
        notes.delete()
        assert revocation_events._servers_told([NOTES]) == []


# -- what is not a revocation event ----------------------------------------------------------------------


def test_e1_no_event_for_opaque_tokens_services_without_a_uri_or_expired_tokens(
    client, user, application, receiver
):
    register_resource(NOTES, application, scopes="notes:read", token_format="opaque", events_uri=receiver.url)
    files = register_resource(
        "https://files.example.com/", application, scopes="notes:read", token_format="jwt"
    )
    opaque = issue_tokens(Client(), user, application, resource=NOTES, scope=SCOPE)
    unregistered = issue_tokens(Client(), user, application, resource=files.identifier, scope=SCOPE)
    revoke(Client(), application, opaque["access_token"])
    revoke(Client(), application, unregistered["access_token"])
    assert events() == []
    ResourceServer.objects.filter(pk=files.pk).update(events_uri=receiver.url)
    expired = issue_tokens(Client(), user, application, resource=files.identifier, scope=SCOPE)
    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    revoke(Client(), application, expired["access_token"])
    assert events() == []


def test_e1_client_credentials_tokens_are_told_too(client, notes):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    notes.allowed_clients.add(service)
    token = client_credentials(client, service, resource=NOTES, scope="notes:read").json()["access_token"]
    revoke(Client(), service, token)
    assert revoked_jtis() == [jti_of(token)]
