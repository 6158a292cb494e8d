"""X1-X8 at the provider: RFC 8693 token exchange (issue 14).

The chain: a site (the ``application`` fixture) gets the user's token for service A (a JWT), A
exchanges it for a token for service B (opaque), B exchanges that one for service C (a JWT). Each
service is a confidential client whose own resource server is its audience, with an exchange policy.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from provider_app.audit import TOKEN_EXCHANGED
from provider_app.internal.tokens import digest, revoke_client_tokens, revoke_token_family
from provider_app.models import AuditEvent, TokenExchangePolicy
from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    basic_auth,
    client_credentials,
    introspect,
    issue_tokens,
    post_refresh,
    register_resource,
)

pytestmark = pytest.mark.django_db

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
A, B, C = "https://a.example.com/", "https://b.example.com/", "https://c.example.com/"
USER_SCOPE = "openid notes:read notes:write files:read"


def _claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _service():
    return ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")


def _policy(service, sources, targets):
    policy = TokenExchangePolicy.objects.create(application=service)
    policy.source_audiences.add(*sources)
    policy.target_audiences.add(*targets)
    return policy


class Chain:
    """Services A, B, C; the site may ask tokens for A; A may exchange for B, B for C."""

    def __init__(self, site):
        self.site = site
        self.svc_a, self.svc_b, self.svc_c = _service(), _service(), _service()
        scopes = "notes:read notes:write files:read"
        self.a = register_resource(A, site, scopes=scopes, token_format="jwt", client=self.svc_a)
        self.b = register_resource(B, scopes="notes:read files:read", client=self.svc_b)
        self.c = register_resource(C, scopes="files:read", token_format="jwt", client=self.svc_c)
        self.policy_a = _policy(self.svc_a, [self.a], [self.b])
        self.policy_b = _policy(self.svc_b, [self.b], [self.c])


@pytest.fixture
def chain(application):
    return Chain(application)


@pytest.fixture
def user_token(client, user, chain):
    """The site's token response for service A (a JWT, with a refresh token)."""
    scope = USER_SCOPE + " offline_access"
    return issue_tokens(client, user, chain.site, resource=A, scope=scope, logout=True)


def exchange(client, service, subject, target=A, *, secret=None, **data):
    form = {
        "grant_type": GRANT,
        "subject_token": subject,
        "subject_token_type": ACCESS_TOKEN,
        "requested_token_type": ACCESS_TOKEN,
        "resource": target,
        **data,
    }
    form = {name: value for name, value in form.items() if value is not None}
    authorization = basic_auth(service.client_id, secret or service.raw_secret)
    return client.post("/o/token/", form, HTTP_AUTHORIZATION=authorization)


def _error(response) -> str:
    assert response["Content-Type"] == "application/json", response.content
    return response.json()["error"]


def _a_to_b(client, chain, user_token, **data):
    response = exchange(client, chain.svc_a, user_token["access_token"], B, **data)
    assert response.status_code == 200, response.content
    return response.json()


def _active(client, caller, token) -> bool:
    return introspect(client, caller, token).json()["active"]


# -- X1: the parameters and the response (RFC 8693 2.1, 2.2.1) ------------------------------------


def test_x1_the_response_carries_issued_token_type_and_token_type_and_no_refresh_token(
    client, chain, user_token
):
    body = _a_to_b(client, chain, user_token)
    assert body["issued_token_type"] == ACCESS_TOKEN
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0 and body["scope"]
    assert "refresh_token" not in body and "id_token" not in body


@pytest.mark.parametrize("missing", ["subject_token", "subject_token_type"])
def test_x1_subject_token_and_its_type_are_required(client, chain, user_token, missing):
    response = exchange(client, chain.svc_a, user_token["access_token"], B, **{missing: None})
    assert response.status_code == 400 and _error(response) == "invalid_request"


@pytest.mark.parametrize(
    "token_type",
    [
        "urn:ietf:params:oauth:token-type:refresh_token",
        "urn:ietf:params:oauth:token-type:id_token",
        "urn:ietf:params:oauth:token-type:jwt",
        "access_token",
    ],
)
def test_x1_only_access_tokens_are_exchanged(client, chain, user_token, token_type):
    response = exchange(client, chain.svc_a, user_token["access_token"], B, subject_token_type=token_type)
    assert response.status_code == 400 and _error(response) == "invalid_request"


@pytest.mark.parametrize(
    "actor",
    [{"actor_token": "x"}, {"actor_token_type": ACCESS_TOKEN}],
)
def test_x1_actor_token_type_is_sent_exactly_when_actor_token_is(client, chain, user_token, actor):
    response = exchange(client, chain.svc_a, user_token["access_token"], B, **actor)
    assert response.status_code == 400 and _error(response) == "invalid_request"
    assert "actor_token_type" in response.json()["error_description"]


def test_x1_only_access_tokens_are_issued(client, chain, user_token):
    response = exchange(
        client,
        chain.svc_a,
        user_token["access_token"],
        B,
        requested_token_type="urn:ietf:params:oauth:token-type:refresh_token",
    )
    assert response.status_code == 400 and _error(response) == "invalid_request"


def test_x1_the_target_may_be_named_by_audience(client, chain, user_token):
    response = exchange(client, chain.svc_a, user_token["access_token"], None, audience=B)
    assert response.status_code == 200, response.content


def test_x1_discovery_lists_the_grant_and_the_server_class_offers_it(client, settings):
    discovery = client.get("/o/.well-known/openid-configuration").json()
    assert GRANT in discovery["grant_types_supported"]
    from provider_app.checks import check_token_exchange_server

    assert check_token_exchange_server() == []
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OAUTH2_SERVER_CLASS": "oauthlib.openid.Server"}
    assert [m.id for m in check_token_exchange_server()] == ["provider_app.W034"]


# -- X2: confidential clients, as the admin's policy allows --------------------------------------


def test_x2_a_public_client_cannot_exchange(client, chain, user_token):
    public = ApplicationFactory(client_type="public", authorization_grant_type="authorization-code")
    _policy(public, [chain.a], [chain.b])
    response = client.post(
        "/o/token/",
        {
            "grant_type": GRANT,
            "client_id": public.client_id,
            "subject_token": user_token["access_token"],
            "subject_token_type": ACCESS_TOKEN,
            "resource": B,
        },
    )
    assert response.status_code == 401 and _error(response) == "invalid_client"


def test_x2_a_client_that_does_not_authenticate_cannot_exchange(client, chain, user_token):
    response = exchange(client, chain.svc_a, user_token["access_token"], B, secret="wrong")
    assert response.status_code == 401 and _error(response) == "invalid_client"


def test_x2_a_client_without_a_policy_may_not_exchange(client, chain, user_token):
    chain.policy_a.delete()
    response = exchange(client, chain.svc_a, user_token["access_token"], B)
    assert response.status_code == 400 and _error(response) == "unauthorized_client"


def test_x2_a_target_outside_the_policy_is_invalid_target(client, chain, user_token):
    # Even a registered resource that allows the client for other grants: the policy decides.
    chain.c.allowed_clients.add(chain.svc_a)
    response = exchange(client, chain.svc_a, user_token["access_token"], C)
    assert response.status_code == 400 and _error(response) == "invalid_target"


def test_x2_a_target_in_the_policy_needs_no_allowed_clients_entry(client, chain, user_token):
    assert not chain.b.allowed_clients.filter(pk=chain.svc_a.pk).exists()
    assert exchange(client, chain.svc_a, user_token["access_token"], B).status_code == 200


def test_x2_tokens_of_an_audience_outside_the_policy_are_refused(client, chain, user_token):
    chain.policy_a.source_audiences.clear()
    response = exchange(client, chain.svc_a, user_token["access_token"], B)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


# -- X3: an active subject token, issued for the requesting client's own audience -----------------


def test_x3_an_expired_subject_token_is_invalid_grant(client, chain, user_token):
    get_access_token_model().objects.filter(token_checksum=digest(user_token["access_token"])).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    response = exchange(client, chain.svc_a, user_token["access_token"], B)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_x3_a_revoked_subject_token_is_invalid_grant(client, chain, user_token):
    revoke = client.post(
        "/o/revoke_token/",
        {"token": user_token["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(chain.site.client_id, chain.site.raw_secret),
    )
    assert revoke.status_code == 200
    response = exchange(client, chain.svc_a, user_token["access_token"], B)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_x3_a_deactivated_users_token_is_invalid_grant(client, user, chain, user_token):
    user.is_active = False
    user.save()
    response = exchange(client, chain.svc_a, user_token["access_token"], B)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


@pytest.mark.parametrize("value", ["unknown", "a" * 5000, "x.y.z"])
def test_x3_an_unknown_subject_token_is_invalid_grant(client, chain, value):
    response = exchange(client, chain.svc_a, value, B)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_x3_a_token_for_another_audience_is_refused(client, chain, user_token):
    # B holds A's token (forwarded to it): B may not exchange a token that was not meant for it.
    chain.policy_b.source_audiences.add(chain.a)
    response = exchange(client, chain.svc_b, user_token["access_token"], C)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_x3_a_token_without_a_user_is_refused(client, chain):
    chain.a.allowed_clients.add(chain.svc_c)
    service_token = client_credentials(client, chain.svc_c, resource=A, scope="notes:read").json()
    response = exchange(client, chain.svc_a, service_token["access_token"], B)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


# -- X4: scopes only narrow, the lifetime is no longer, aud is the target --------------------------


def test_x4_by_default_the_subjects_scopes_the_target_understands(client, chain, user_token):
    body = _a_to_b(client, chain, user_token)
    assert set(body["scope"].split()) == {"notes:read", "files:read"}


def test_x4_a_narrower_scope_is_granted(client, chain, user_token):
    assert _a_to_b(client, chain, user_token, scope="files:read")["scope"] == "files:read"


def test_x4_a_scope_that_grows_is_invalid_scope(client, chain, user_token):
    chain.b.scopes = "notes:read files:read files:write"
    chain.b.save()
    response = exchange(client, chain.svc_a, user_token["access_token"], B, scope="files:read files:write")
    assert response.status_code == 400 and _error(response) == "invalid_scope"


def test_x4_a_scope_the_target_does_not_understand_is_invalid_scope(client, chain, user_token):
    response = exchange(client, chain.svc_a, user_token["access_token"], B, scope="notes:write")
    assert response.status_code == 400 and _error(response) == "invalid_scope"


def test_x4_the_lifetime_is_no_longer_than_the_subject_tokens(client, chain, user_token):
    subject_expires = timezone.now() + timedelta(seconds=100)
    get_access_token_model().objects.filter(token_checksum=digest(user_token["access_token"])).update(
        expires=subject_expires
    )
    body = _a_to_b(client, chain, user_token)
    assert 0 < body["expires_in"] <= 100
    stored = get_access_token_model().objects.get(token_checksum=digest(body["access_token"]))
    assert stored.expires <= subject_expires
    # And a JWT issued from it (B to C) expires no later either.
    c_token = exchange(client, chain.svc_b, body["access_token"], C).json()["access_token"]
    assert _claims(c_token)["exp"] <= int(subject_expires.timestamp())


def test_x4_aud_is_the_target(client, chain, user_token):
    b_token = _a_to_b(client, chain, user_token)["access_token"]
    assert introspect(client, chain.svc_b, b_token).json()["aud"] == [B]
    c_token = exchange(client, chain.svc_b, b_token, C).json()["access_token"]
    assert _claims(c_token)["aud"] == C


@pytest.mark.parametrize("target", ["https://unknown.example.com/", "not a uri", "urn:x"])
def test_x4_an_unknown_target_is_invalid_target(client, chain, user_token, target):
    response = exchange(client, chain.svc_a, user_token["access_token"], target)
    assert response.status_code == 400 and _error(response) == "invalid_target"


def test_x4_one_target_per_exchange(client, chain, user_token):
    chain.policy_a.target_audiences.add(chain.c)
    response = exchange(client, chain.svc_a, user_token["access_token"], B, audience=C)
    assert response.status_code == 400 and _error(response) == "invalid_target"
    form = {
        "grant_type": GRANT,
        "subject_token": user_token["access_token"],
        "subject_token_type": ACCESS_TOKEN,
        "resource": [B, C],
    }
    response = client.post(
        "/o/token/", form, HTTP_AUTHORIZATION=basic_auth(chain.svc_a.client_id, chain.svc_a.raw_secret)
    )
    assert response.status_code == 400 and _error(response) == "invalid_target"


def test_x4_no_target_is_invalid_request(client, chain, user_token):
    response = exchange(client, chain.svc_a, user_token["access_token"], None)
    assert response.status_code == 400 and _error(response) == "invalid_request"


# -- X5: sub stays the user; act names the acting client, nested along a chain --------------------


def test_x5_a_chain_a_b_c_keeps_the_user_and_nests_act(client, user, chain, user_token):
    # A's token is a JWT, B's opaque, C's a JWT: both kinds of subject token are exchanged.
    b_body = _a_to_b(client, chain, user_token)
    b_seen = introspect(client, chain.svc_b, b_body["access_token"]).json()
    assert b_seen["active"] is True
    assert b_seen["sub"] == str(user.pk)
    assert b_seen["client_id"] == chain.svc_a.client_id
    assert b_seen["act"] == {"sub": chain.svc_a.client_id}
    c_response = exchange(client, chain.svc_b, b_body["access_token"], C)
    assert c_response.status_code == 200, c_response.content
    c_claims = _claims(c_response.json()["access_token"])
    assert c_claims["sub"] == str(user.pk)
    assert c_claims["client_id"] == chain.svc_b.client_id
    assert c_claims["act"] == {"sub": chain.svc_b.client_id, "act": {"sub": chain.svc_a.client_id}}


def test_x5_a_token_not_issued_by_exchange_has_no_act(client, chain, user_token):
    assert "act" not in _claims(user_token["access_token"])
    assert "act" not in introspect(client, chain.site, user_token["access_token"]).json()


def test_x5_introspection_of_an_exchanged_token_stays_audience_restricted(client, chain, user_token):
    b_token = _a_to_b(client, chain, user_token)["access_token"]
    assert introspect(client, chain.svc_c, b_token).json() == {"active": False}


# -- X6: errors are RFC 8693 2.2.2 / RFC 6749 5.2 JSON, never a 500 ------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"subject_token": "a\x00b"},
        {"subject_token": "é" * 300},
        {"resource": "https://a.example.com/\x00"},
        {"resource": "\x07"},
        {"audience": "x" * 10000},
        {"scope": "\x00"},
        {"scope": "a" * 5000},
        {"subject_token_type": "\x00"},
        {"requested_token_type": "\x00"},
        {"grant_type": GRANT + "x"},
    ],
)
def test_x6_bad_input_gets_a_json_error_never_a_500(client, chain, user_token, data):
    data = {"subject_token": user_token["access_token"], **data}
    response = exchange(client, chain.svc_a, data.pop("subject_token"), B, **data)
    assert 400 <= response.status_code < 500
    assert _error(response) in {
        "invalid_request",
        "invalid_target",
        "invalid_grant",
        "invalid_scope",
        "unsupported_grant_type",
    }


def test_x6_a_repeated_subject_token_is_answered_in_json(client, chain, user_token):
    # DOT keeps the last value of a repeated parameter (resource excepted, X4): here "other".
    form = {
        "grant_type": GRANT,
        "subject_token": [user_token["access_token"], "other"],
        "subject_token_type": ACCESS_TOKEN,
        "resource": B,
    }
    response = client.post(
        "/o/token/", form, HTTP_AUTHORIZATION=basic_auth(chain.svc_a.client_id, chain.svc_a.raw_secret)
    )
    assert response.status_code == 400 and _error(response) == "invalid_grant"


# -- X7: revoking the subject token's family revokes what was exchanged from it ------------------


def _exchanged_chain(client, chain, user_token) -> tuple[str, str]:
    b_token = _a_to_b(client, chain, user_token)["access_token"]
    c_token = exchange(client, chain.svc_b, b_token, C).json()["access_token"]
    assert _active(client, chain.svc_b, b_token) and _active(client, chain.svc_c, c_token)
    return b_token, c_token


def _assert_revoked(client, chain, b_token, c_token):
    assert not _active(client, chain.svc_b, b_token)
    assert not _active(client, chain.svc_c, c_token)
    assert not get_access_token_model().objects.filter(token_checksum__in=[digest(b_token), digest(c_token)])


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_x7_revoking_the_subject_token_revokes_the_exchanged_chain(client, chain, user_token, which):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    response = client.post(
        "/o/revoke_token/",
        {"token": user_token[which], "token_type_hint": which},
        HTTP_AUTHORIZATION=basic_auth(chain.site.client_id, chain.site.raw_secret),
    )
    assert response.status_code == 200
    _assert_revoked(client, chain, b_token, c_token)


def test_x7_refresh_token_reuse_revokes_the_exchanged_chain(client, chain, user_token):
    refreshed = post_refresh(client, chain.site, user_token["refresh_token"])
    assert refreshed.status_code == 200
    b_token, c_token = _exchanged_chain(client, chain, refreshed.json())
    # The first refresh token, used again: its family is revoked (P8), the exchanged tokens with it.
    assert post_refresh(client, chain.site, user_token["refresh_token"]).status_code == 400
    _assert_revoked(client, chain, b_token, c_token)


def test_x7_a_subject_rotated_away_still_takes_its_exchanges_with_its_family(client, chain, user_token):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    refresh_token = get_refresh_token_model().objects.get(token_checksum=digest(user_token["refresh_token"]))
    family = refresh_token.token_family

    assert post_refresh(client, chain.site, user_token["refresh_token"]).status_code == 200
    # The subject access token is gone (rotated); the exchanged ones live until the family goes.
    assert _active(client, chain.svc_b, b_token)
    revoke_token_family(family)
    _assert_revoked(client, chain, b_token, c_token)


def test_x7_taking_access_back_from_the_site_revokes_the_exchanged_chain(client, user, chain, user_token):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    revoke_client_tokens(user, chain.site)  # logout (P27) and the connected-apps page
    _assert_revoked(client, chain, b_token, c_token)


def _admin_action(browser, model: str, action: str, pks, **extra):
    response = browser.post(
        f"/admin/oauth2_provider/{model}/", {"action": action, "_selected_action": list(pks), **extra}
    )
    assert response.status_code == 302, response.content[:500]


def test_x7_the_admins_revoke_every_token_of_a_client_takes_the_exchanged_chain(
    client, chain, user_token, verified_admin_client
):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    _admin_action(verified_admin_client, "application", "revoke_all_tokens", [chain.site.pk])
    _assert_revoked(client, chain, b_token, c_token)


def test_x7_the_admins_access_token_revocation_takes_the_exchanged_chain(
    client, chain, user_token, verified_admin_client
):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    subject = get_access_token_model().objects.get(token_checksum=digest(user_token["access_token"]))
    _admin_action(verified_admin_client, "accesstoken", "revoke_tokens", [subject.pk])
    _assert_revoked(client, chain, b_token, c_token)


def test_x7_the_admins_refresh_token_revocation_takes_the_family_and_the_exchanged_chain(
    client, chain, user_token, verified_admin_client
):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    refresh_token = get_refresh_token_model().objects.get(token_checksum=digest(user_token["refresh_token"]))
    _admin_action(verified_admin_client, "refreshtoken", "revoke_tokens", [refresh_token.pk])
    _assert_revoked(client, chain, b_token, c_token)
    assert not get_access_token_model().objects.filter(token_checksum=digest(user_token["access_token"]))


def test_x7_deleting_the_client_takes_the_tokens_exchanged_from_its_tokens(client, chain, user_token):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    chain.site.delete()
    _assert_revoked(client, chain, b_token, c_token)


def test_x7_revoking_an_exchanged_token_leaves_its_subject(client, chain, user_token):
    b_token, c_token = _exchanged_chain(client, chain, user_token)
    response = client.post(
        "/o/revoke_token/",
        {"token": b_token},
        HTTP_AUTHORIZATION=basic_auth(chain.svc_a.client_id, chain.svc_a.raw_secret),
    )
    assert response.status_code == 200
    _assert_revoked(client, chain, b_token, c_token)
    assert _active(client, chain.site, user_token["access_token"])


# -- X8: every exchange is an audit event ----------------------------------------------------------


def test_x8_an_exchange_is_an_audit_event(client, user, chain, user_token):
    b_token = _a_to_b(client, chain, user_token)["access_token"]
    exchange(client, chain.svc_b, b_token, C)
    events = list(AuditEvent.objects.filter(event=TOKEN_EXCHANGED).order_by("pk"))
    assert len(events) == 2
    first, second = events
    assert first.user == user and first.client_id == chain.svc_a.client_id
    assert first.details["actors"] == chain.svc_a.client_id
    assert first.details["source_audience"] == A and first.details["target_audience"] == B
    assert first.details["subject_client_id"] == chain.site.client_id
    assert second.client_id == chain.svc_b.client_id
    assert second.details["actors"] == f"{chain.svc_b.client_id} {chain.svc_a.client_id}"
    assert second.details["source_audience"] == B and second.details["target_audience"] == C
    assert b_token not in json.dumps(second.details)


def test_x8_a_refused_exchange_writes_no_token_event(client, chain, user_token):
    exchange(client, chain.svc_a, user_token["access_token"], C)
    assert not AuditEvent.objects.filter(event=TOKEN_EXCHANGED).exists()


# -- Service accounts (issue 13): client_credentials, the client as sub, the resource as aud ------


def test_r1_a_service_account_token_has_the_client_as_sub_and_the_resource_as_aud(client, chain):
    chain.c.allowed_clients.add(chain.svc_b)
    body = client_credentials(client, chain.svc_b, resource=C, scope="files:read").json()
    claims = _claims(body["access_token"])
    assert claims["sub"] == chain.svc_b.client_id and claims["aud"] == C and "act" not in claims


def test_x2_the_command_gives_a_service_its_exchange_policy(client, chain, user_token):
    from django.core.management import CommandError, call_command

    chain.policy_a.delete()
    with pytest.raises(CommandError, match="No resource server"):
        call_command(
            "provider_app_register_resource", "--identifier", A, "--name", "A", "--scopes", "notes:read",
            "--client", chain.svc_a.client_id, "--may-exchange-for", "https://nowhere.example.com/",
        )  # fmt: skip
    assert not TokenExchangePolicy.objects.filter(application=chain.svc_a).exists()
    call_command(
        "provider_app_register_resource", "--identifier", A, "--name", "A",
        "--scopes", "notes:read notes:write files:read", "--token-format", "jwt",
        "--client", chain.svc_a.client_id, "--may-exchange-for", B,
    )  # fmt: skip
    assert exchange(client, chain.svc_a, user_token["access_token"], B).status_code == 200


def test_x7_a_subject_revoked_during_the_exchange_issues_nothing(client, chain, user_token, monkeypatch):
    from provider_app.oauth2_validator import ProviderOAuth2Validator

    validate = ProviderOAuth2Validator.validate_token_exchange

    def revoked_meanwhile(self, request, targets):
        validate(self, request, targets)
        get_access_token_model().objects.filter(token_checksum=digest(user_token["access_token"])).delete()

    monkeypatch.setattr(ProviderOAuth2Validator, "validate_token_exchange", revoked_meanwhile)
    response = exchange(client, chain.svc_a, user_token["access_token"], B)
    assert response.status_code == 400 and _error(response) == "invalid_grant"
    assert not get_access_token_model().objects.filter(application=chain.svc_a).exists()
    assert not AuditEvent.objects.filter(event=TOKEN_EXCHANGED).exists()


def test_x2_the_admin_edits_a_policy_and_refuses_a_foreign_source(verified_admin_client, chain):
    url = f"/admin/provider_app/tokenexchangepolicy/{chain.policy_a.pk}/change/"
    assert verified_admin_client.get(url).status_code == 200
    form = {"application": chain.svc_a.pk, "source_audiences": [chain.b.pk], "target_audiences": [chain.c.pk]}
    response = verified_admin_client.post(url, form)
    assert (
        response.status_code == 200
        and "not this client&#x27;s own resource server" in response.content.decode()
    )
    form["source_audiences"] = [chain.a.pk]
    assert verified_admin_client.post(url, form).status_code == 302
    assert list(chain.policy_a.target_audiences.all()) == [chain.c]


def test_r2_an_exchanged_jwt_carries_the_users_authentication_along_the_chain(client, chain, user_token):
    original = _claims(user_token["access_token"])
    assert "auth_time" in original
    b_token = _a_to_b(client, chain, user_token)["access_token"]  # opaque: carried in its record
    c_claims = _claims(exchange(client, chain.svc_b, b_token, C).json()["access_token"])
    for name in ("auth_time", "amr", "acr"):
        assert c_claims.get(name) == original.get(name)
    assert "sid" not in original and "sid" not in c_claims  # the session handle stays with the site


def test_r2_a_subject_token_without_openid_passes_its_authentication_on(client, user, chain):
    """No ID token behind the subject token: its authentication is found by its refresh-token family."""
    subject = issue_tokens(client, user, chain.site, resource=A, scope="notes:read files:read", logout=True)
    assert "id_token" not in subject
    original = _claims(subject["access_token"])
    b_token = _a_to_b(client, chain, subject)["access_token"]
    c_claims = _claims(exchange(client, chain.svc_b, b_token, C).json()["access_token"])
    assert original["auth_time"] and c_claims.get("auth_time") == original["auth_time"]
    assert c_claims.get("amr") == original.get("amr")


def test_p26_a_parameter_named_like_dots_state_never_reaches_the_exchange(chain, user_token):
    """oauthlib answers an unknown attribute from the request's parameters: the authentication
    context of a token exchange is never looked up through one (``refresh_token_instance=x`` used
    to answer 500)."""
    from django.test import Client

    browser = Client(raise_request_exception=False)
    b_token = _a_to_b(browser, chain, user_token)["access_token"]
    response = exchange(browser, chain.svc_b, b_token, C, refresh_token_instance="x")
    assert response.status_code == 200, response.content
    assert (
        _claims(response.json()["access_token"])["auth_time"]
        == _claims(user_token["access_token"])["auth_time"]
    )


@pytest.mark.postgres  # two transactions at once, row locks: what PostgreSQL really does
@pytest.mark.django_db(transaction=True)
def test_x7_a_family_revoked_while_an_exchange_is_being_stored_takes_the_new_token(
    client, chain, user_token, monkeypatch
):
    import threading
    import time

    from django.db import connection
    from django.test import Client

    from provider_app.oauth2_validator import ProviderOAuth2Validator

    lock_subject = ProviderOAuth2Validator._lock_subject_token
    locked, revoking = threading.Event(), threading.Event()

    def slow_after_the_lock(self, request, subject):
        lock_subject(self, request, subject)
        locked.set()  # the exchange holds the subject's row lock, its token not yet stored ...
        assert revoking.wait(10)
        time.sleep(0.5)  # ... while the revocation starts: it must wait for this one, then see it

    monkeypatch.setattr(ProviderOAuth2Validator, "_lock_subject_token", slow_after_the_lock)
    family = (
        get_refresh_token_model().objects.get(token_checksum=digest(user_token["refresh_token"])).token_family
    )
    answers = []

    def exchanging():
        try:
            answers.append(exchange(Client(), chain.svc_a, user_token["access_token"], B))
        finally:
            connection.close()

    def revoking_the_family():
        try:
            assert locked.wait(10)
            revoking.set()
            revoke_token_family(family)  # what refresh-token reuse detection does (P8)
        finally:
            connection.close()

    threads = [threading.Thread(target=exchanging), threading.Thread(target=revoking_the_family)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    [answer] = answers
    assert answer.status_code == 200  # the exchange committed first ...
    exchanged = answer.json()["access_token"]
    assert not _active(client, chain.svc_b, exchanged)  # ... and the revocation found its token
    assert not get_access_token_model().objects.filter(token_checksum=digest(exchanged)).exists()


def test_the_token_endpoint_masks_every_credential_a_request_carries_in_error_reports(
    chain, user_token, monkeypatch
):
    """A token request that fails unexpectedly is reported (logs, admin e-mails) without its
    credentials: the subject token of an exchange is a live bearer token."""
    from django.test import RequestFactory
    from django.views.debug import SafeExceptionReporterFilter

    from provider_app.views.token import TokenView

    seen = []

    def failing(self, request):
        seen.append(request)
        raise RuntimeError("unexpected")

    monkeypatch.setattr(TokenView, "create_token_response", failing)
    secrets = {
        "grant_type": GRANT,
        "subject_token": user_token["access_token"],
        "actor_token": "actor-token-value",
        "client_secret": "s3cret",
        "code": "code-value",
        "code_verifier": "verifier-value",
        "refresh_token": user_token["refresh_token"],
        "password": "pw",
    }
    with pytest.raises(RuntimeError):
        TokenView.as_view()(RequestFactory().post("/o/token/", secrets))
    shown = SafeExceptionReporterFilter().get_post_parameters(seen[0])
    assert shown["grant_type"] == GRANT
    for name in secrets.keys() - {"grant_type"}:
        assert shown[name] != secrets[name], name


def test_x4_identity_scopes_are_not_exchanged(client, chain, user_token):
    # The subject token carries openid; a token for B with it would be a UserInfo token for A.
    response = exchange(client, chain.svc_a, user_token["access_token"], B, scope="openid")
    assert response.status_code == 400 and _error(response) == "invalid_scope"


def test_x5_a_chain_longer_than_the_limit_is_refused(client, chain, user_token):
    from provider_app.internal.token_exchange import MAX_ACTORS

    chain.policy_b.target_audiences.add(chain.a)  # A and B may call each other: a ping-pong
    token, services = user_token["access_token"], [(chain.svc_a, B), (chain.svc_b, A)]
    for hop in range(MAX_ACTORS):
        service, target = services[hop % 2]
        response = exchange(client, service, token, target)
        assert response.status_code == 200, (hop, response.content)
        token = response.json()["access_token"]
    service, target = services[MAX_ACTORS % 2]
    response = exchange(client, service, token, target)
    assert response.status_code == 400 and _error(response) == "invalid_grant"
