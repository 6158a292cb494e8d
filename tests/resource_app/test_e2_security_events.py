"""E2: the revocation-event receiver (RFC 8935 push of RFC 8417 Security Event Tokens) accepts only
signed events of its issuer, for its audience; every refusal is a 400 with an RFC 8935 2.4 code,
never a 500. The events are signed by keys this test makes and served by the fake provider's JWKS."""

from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwcrypto.jwk import JWK

from resource_app.models import ReceivedEvent, Revocation
from tests.resource_app.conftest import AUDIENCE, ISSUER, SESSION_REVOKED, mint, mint_set, sign, signing_key
from tests.resource_app.test_robustness import _segment, json_values

pytestmark = pytest.mark.django_db

URL = "/events/"
MEDIA_TYPE = "application/secevent+jwt"


def push(client, body, content_type=MEDIA_TYPE, **headers):
    return client.generic("POST", URL, body, content_type=content_type, **headers)


def refused_with(response, err: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["err"] == err
    assert isinstance(response.json()["description"], str)


def test_e2_a_valid_event_is_accepted_with_202_and_an_empty_body(client, provider):
    response = push(client, mint_set({"format": "jwt_id", "iss": ISSUER, "jti": "token-1"}))
    assert response.status_code == 202 and response.content == b""
    assert Revocation.objects.filter(kind="jti", value="token-1").count() == 1


@pytest.mark.parametrize(
    "claims, err",
    [
        ({"iss": "https://evil.example.com/o"}, "invalid_issuer"),
        ({"iss": ISSUER + "/"}, "invalid_issuer"),  # exactly: a trailing slash differs
        ({"aud": "https://other-service.example.com/"}, "invalid_audience"),
        ({"aud": ["https://other-service.example.com/"]}, "invalid_audience"),
        ({"iat": 4_102_444_800}, "invalid_request"),  # 2100: in the future
        ({"iat": int(time.time()) - 2 * 86400}, "invalid_request"),  # older than EVENTS_MAX_AGE
        ({"iat": "now"}, "invalid_request"),
        ({"exp": 1_000_000}, "invalid_request"),
        ({"jti": ""}, "invalid_request"),
        ({"jti": 7}, "invalid_request"),
        ({"events": []}, "invalid_request"),
        ({"events": {}}, "invalid_request"),
        ({"events": {SESSION_REVOKED: "revoked"}}, "invalid_request"),
    ],
)
def test_e2_claims_are_checked(client, provider, claims, err):
    refused_with(push(client, mint_set(claims=claims)), err)
    assert not Revocation.objects.exists()


@pytest.mark.parametrize("drop", ["iat", "jti", "events"])
def test_e2_required_claims(client, provider, drop):
    refused_with(push(client, mint_set(drop=[drop])), "invalid_request")


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "logout+jwt", None])
def test_e2_a_jwt_not_typed_secevent_jwt_is_refused(client, provider, typ):
    # RFC 8417 2.3: an access token or a logout token of the same provider is never an event.
    refused_with(push(client, mint_set(header={"typ": typ})), "invalid_request")


def test_e2_both_spellings_of_the_type_are_accepted(client, provider):
    assert push(client, mint_set(header={"typ": "application/secevent+jwt"})).status_code == 202


def test_e2_an_access_token_posted_as_an_event_is_refused(client, provider):
    refused_with(push(client, mint()), "invalid_request")


def test_e2_a_key_the_provider_does_not_publish_is_refused(client, provider):
    stranger = JWK.generate(kty="EC", crv="P-256", kid="key-1", use="sig")  # same kid, other key
    refused_with(push(client, mint_set(key=stranger, header={"alg": "ES256"})), "invalid_key")


def test_e2_a_forged_signature_is_refused(client, provider):
    header, payload, signature = mint_set().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub_id"]["jti"] = "someone-elses-token"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused_with(push(client, f"{header}.{forged}.{signature}"), "authentication_failed")
    assert not Revocation.objects.exists()


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_e2_none_and_hmac_are_refused(client, provider, alg):
    header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "typ": "secevent+jwt"}).encode())
    _, payload, _ = mint_set().split(".")
    unsigned = f"{header.rstrip(b'=').decode()}.{payload}.c2lnbmF0dXJl"
    refused_with(push(client, unsigned), "invalid_key")


def test_e2_an_algorithm_off_the_allow_list_is_refused(client, provider, settings):
    settings.RESOURCE_APP_ALGORITHMS = ["ES256"]
    refused_with(push(client, mint_set()), "invalid_key")


@pytest.mark.parametrize(
    "subject",
    [
        {"format": "jwt_id", "iss": "https://evil.example.com/o", "jti": "token-1"},  # not our issuer's
        {"format": "iss_sub", "iss": "https://evil.example.com/o", "sub": "user-42"},
        {"format": "jwt_id", "iss": ISSUER},
        {"format": "iss_sub", "iss": ISSUER, "sub": ""},
        {"format": "email", "email": "user@example.com"},
        {"format": "opaque", "id": "user-42"},
        {"format": "jwt-id", "iss": ISSUER, "jti": "token-1"},  # a draft's spelling
    ],
)
def test_e2_a_subject_this_service_cannot_act_on_is_refused(client, provider, subject):
    refused_with(push(client, mint_set(subject)), "invalid_request")
    assert not Revocation.objects.exists()


def test_e2_the_subject_may_come_in_the_event_as_older_caep_transmitters_send_it(client, provider):
    subject = {"format": "jwt_id", "iss": ISSUER, "jti": "token-2"}
    response = push(client, mint_set(drop=["sub_id"], event={"subject": subject}))
    assert response.status_code == 202
    assert Revocation.objects.filter(kind="jti", value="token-2").exists()


def test_e2_sub_id_and_a_different_event_subject_are_refused(client, provider):
    other = {"format": "jwt_id", "iss": ISSUER, "jti": "token-3"}
    refused_with(push(client, mint_set(event={"subject": other})), "invalid_request")


def test_e2_an_event_type_this_service_does_not_act_on_is_acknowledged_and_ignored(client, provider):
    event = {"https://schemas.openid.net/secevent/caep/event-type/credential-change": {}}
    response = push(client, mint_set(claims={"events": event}))
    assert response.status_code == 202
    assert not Revocation.objects.exists()


def test_e2_a_duplicate_is_acknowledged_and_changes_nothing(client, provider):
    event = mint_set({"format": "iss_sub", "iss": ISSUER, "sub": "user-42"})
    assert push(client, event).status_code == 202
    assert push(client, event).status_code == 202
    assert Revocation.objects.count() == 1 and ReceivedEvent.objects.count() == 1


def test_e2_the_request_must_be_a_set(client, provider):
    event = mint_set()
    refused_with(push(client, event, content_type="application/json"), "invalid_request")
    refused_with(push(client, ""), "invalid_request")
    refused_with(push(client, "x" * 20_000), "invalid_request")
    refused_with(push(client, "é.é.é".encode()), "invalid_request")
    assert client.get(URL).status_code == 405


def test_e2_an_optional_bearer_value_is_required_when_set(client, provider, settings):
    settings.RESOURCE_APP_EVENTS_AUTHORIZATION = "shared-value-0123456789"
    refused_with(push(client, mint_set()), "authentication_failed")
    refused_with(push(client, mint_set(), HTTP_AUTHORIZATION="Bearer wrong"), "authentication_failed")
    ok = push(client, mint_set(), HTTP_AUTHORIZATION="Bearer shared-value-0123456789")
    assert ok.status_code == 202


def test_e2_the_receiver_is_exempt_from_csrf(provider):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert push(strict, mint_set()).status_code == 202


def test_e2_the_provider_unreachable_is_503_so_that_it_retries(client, provider):
    provider.down = True
    response = push(client, mint_set())
    assert response.status_code == 503 and response["Retry-After"]


subjects = st.fixed_dictionaries(
    {"format": st.sampled_from(["jwt_id", "iss_sub", "x"]), "iss": st.just(ISSUER) | json_values},
    optional={"jti": json_values, "sub": json_values},
)
claims = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.just(ISSUER) | json_values,
        "aud": st.just(AUDIENCE) | json_values,
        "iat": st.integers() | json_values,
        "jti": json_values,
        "exp": json_values,
        "sub_id": subjects | json_values,
        "events": st.dictionaries(st.just(SESSION_REVOKED) | st.text(max_size=5), json_values, max_size=2),
    },
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=claims, unsigned=st.text(max_size=60) | json_values.map(_segment))
def test_e2_events_of_any_shape_never_cause_a_500(client, provider, claims, unsigned):
    signed = mint_set(claims=claims)
    for body in (signed, unsigned, f"{_segment({'alg': 'RS256', 'typ': 'secevent+jwt'})}.{unsigned}.x"):
        response = push(client, body)
        assert response.status_code in (202, 400), (body, response.status_code, response.content)
        if response.status_code == 400:
            assert response.json()["err"] in (
                "invalid_request",
                "invalid_key",
                "authentication_failed",
                "invalid_issuer",
                "invalid_audience",
            )


def test_e2_the_event_documented_for_the_provider_is_accepted(client, provider):
    """docs/microservices.md shows the exact SET a provider sends: it must stay one we act on."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "microservices.md").read_text()
    example = doc.split("A worked example.", 1)[1]
    blocks = [block.split("```", 1)[0] for block in example.split("```json\n")[1:3]]
    header, claims = (json.loads(block) for block in blocks)
    assert header["typ"] == "secevent+jwt" and header["alg"] == "RS256"
    documented_issuer, documented_audience = claims["iss"], claims["aud"]
    now = int(time.time())
    text = json.dumps(claims).replace(documented_issuer, ISSUER).replace(documented_audience, AUDIENCE)
    claims = json.loads(text)
    claims["iat"] = claims["events"][SESSION_REVOKED]["event_timestamp"] = now
    response = push(client, sign(claims, signing_key(), {"typ": header["typ"]}))
    assert response.status_code == 202, response.content
    assert Revocation.objects.get().value == claims["sub_id"]["jti"]
