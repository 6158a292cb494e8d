"""Discovery says exactly what is enforced (P17): everything listed works, what is left out is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError

from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    AuthorizationRequest,
    authorize,
    basic_auth,
    client_credentials,
    exchange,
    post_refresh,
    query_of,
    signed_in_code,
    validate_id_token,
)

pytestmark = pytest.mark.django_db

DISCOVERY = "/o/.well-known/openid-configuration"


@pytest.fixture
def metadata(client):
    response = client.get(DISCOVERY)
    assert response.status_code == 200
    return response.json()


def _code_flow(client, user, application, scope="openid profile email", **exchange_overrides):
    request, code = signed_in_code(client, user, application, scope=scope)
    return request, exchange(client, application, request, code, **exchange_overrides)


def test_p17_issuer_and_endpoints_are_served_here(client, metadata):
    assert metadata["issuer"] == "http://testserver/o"
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ):
        url = metadata[key]
        assert url.startswith(metadata["issuer"] + "/"), (key, url)
        response = client.get(urlsplit(url).path)
        assert response.status_code != 404, key


def test_p17_rfc8414_metadata_is_the_same_document(client, metadata):
    assert client.get("/o/.well-known/oauth-authorization-server").json() == metadata


def test_p17_issuer_setting_is_used_verbatim(client, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": "https://id.example.com/o"}
    metadata = client.get(DISCOVERY).json()
    assert metadata["issuer"] == "https://id.example.com/o"
    assert metadata["token_endpoint"] == "https://id.example.com/o/token/"


def test_p17_every_listed_grant_type_works(client, user, metadata):
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",  # tests/provider_app/test_x_token_exchange.py
    }
    application = ApplicationFactory()
    _request, response = _code_flow(client, user, application)
    assert response.status_code == 200
    refreshed = post_refresh(client, application, response.json()["refresh_token"], basic=True)
    assert refreshed.status_code == 200
    service = ApplicationFactory(authorization_grant_type="client-credentials")
    credentials = client_credentials(client, service)
    assert credentials.status_code == 200


@pytest.mark.parametrize(
    ("grant_type", "grant"),
    [
        ("password", "password"),
        ("implicit", "implicit"),
        ("urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:device_code"),
        ("urn:ietf:params:oauth:grant-type:jwt-bearer", "authorization-code"),
    ],
)
def test_p17_grant_types_left_out_are_refused(client, user, metadata, grant_type, grant):
    from tests.factories import USER_PASSWORD

    assert grant_type not in metadata["grant_types_supported"]
    application = ApplicationFactory(authorization_grant_type=grant)
    response = client.post(
        "/o/token/",
        {"grant_type": grant_type, "username": user.username, "password": USER_PASSWORD, "device_code": "x"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, application.raw_secret),
    )
    # DOT answers an unknown device code with 404; no device authorization endpoint is mounted, so
    # no device code can ever exist.
    assert response.status_code in (400, 401, 404)
    assert "access_token" not in response.json()


def test_p17_response_types(client, user, metadata):
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["response_modes_supported"] == ["query"]
    application = ApplicationFactory()
    client.force_login(user)
    for response_type in ("token", "id_token", "id_token token", "code id_token", "code token", "none"):
        request = AuthorizationRequest(application.client_id, application.redirect_uris)
        request.extra = {"response_type": response_type}
        location = authorize(client, request)["Location"]
        assert "code" not in query_of(location) and "#" not in location


@pytest.mark.parametrize("response_mode", ["fragment", "form_post", "query.jwt"])
def test_p17_response_modes_left_out_are_not_used(client, user, response_mode):
    application = ApplicationFactory()
    client.force_login(user)
    request = AuthorizationRequest(
        application.client_id, application.redirect_uris, extra={"response_mode": response_mode}
    )
    response = authorize(client, request)
    # The answer still goes in the query, as discovery says: nothing in a fragment or a form.
    assert response.status_code == 302
    assert "#" not in response["Location"]


def test_p17_token_endpoint_auth_methods(client, user, metadata):
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    application = ApplicationFactory()
    # client_secret_post
    assert _code_flow(client, user, application)[1].status_code == 200
    # client_secret_basic
    request, response = _code_flow(
        client,
        user,
        application,
        client_id=None,
        client_secret=None,
    )
    assert response.status_code == 401
    assert _code_flow(client, user, application, basic=True)[1].status_code == 200
    # none: a public client with PKCE
    public = ApplicationFactory(client_type="public")
    assert _code_flow(client, user, public, client_secret=None)[1].status_code == 200


@pytest.mark.parametrize("method", ["client_secret_jwt", "private_key_jwt"])
def test_p17_auth_methods_left_out_are_refused(client, user, metadata, method):
    assert method not in metadata["token_endpoint_auth_methods_supported"]
    application = ApplicationFactory()
    _request, response = _code_flow(
        client,
        user,
        application,
        client_secret=None,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion="eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
    )
    assert response.status_code == 401


def test_p17_introspection_and_revocation_auth_methods(client, user, metadata):
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert metadata["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    # Each one is exercised in test_core_endpoints; here: introspection refuses "none".
    public = ApplicationFactory(client_type="public")
    response = client.post("/o/introspect/", {"token": "x", "client_id": public.client_id})
    assert response.status_code == 401


def test_p17_every_listed_scope_can_be_granted(client, user, metadata):
    assert set(metadata["scopes_supported"]) >= {"openid", "profile", "email"}
    application = ApplicationFactory()
    for scope in metadata["scopes_supported"]:
        requested = "openid" if scope == "openid" else f"openid {scope}"
        _request, response = _code_flow(client, user, application, scope=requested)
        assert response.status_code == 200, (scope, response.content)
        assert scope in response.json()["scope"].split()


def test_p17_scopes_left_out_are_refused(client, user, metadata):
    application = ApplicationFactory()
    client.force_login(user)
    for scope in ("admin", "phone", "address", "write"):
        assert scope not in metadata["scopes_supported"]
        request = AuthorizationRequest(
            application.client_id, application.redirect_uris, scope=f"openid {scope}"
        )
        assert query_of(authorize(client, request)["Location"])["error"] == "invalid_scope"


def test_p17_signing_algorithms(client, user, metadata):
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    application = ApplicationFactory()
    request, response = _code_flow(client, user, application)
    claims = validate_id_token(
        client,
        response.json()["id_token"],
        audience=application.client_id,
        nonce=request.nonce,
        access_token=None,
    )
    assert claims["sub"]


def test_p17_hs256_clients_cannot_be_registered(metadata):
    assert "HS256" not in metadata["id_token_signing_alg_values_supported"]
    with pytest.raises(ValidationError):
        ApplicationFactory(algorithm="HS256")


def test_p17_every_issued_claim_is_listed(client, user, metadata):
    application = ApplicationFactory()
    request, response = _code_flow(client, user, application)
    body = response.json()
    id_claims = validate_id_token(
        client, body["id_token"], audience=application.client_id, nonce=request.nonce, access_token=None
    )
    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    supported = set(metadata["claims_supported"])
    # jti and azp are JWT bookkeeping, not claims about the user (OIDC Discovery 3 lists user claims).
    assert set(id_claims) - {"jti", "azp"} <= supported, set(id_claims) - supported
    assert set(userinfo) <= supported


def test_p17_listed_user_claims_are_released(client, user, metadata):
    application = ApplicationFactory()
    request, response = _code_flow(client, user, application)
    userinfo = client.get(
        "/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}"
    ).json()
    user_claims = {"preferred_username", "name", "given_name", "family_name", "email", "email_verified"}
    assert user_claims & set(metadata["claims_supported"]) <= set(userinfo)


def test_p17_pkce_and_iss_flags(metadata):
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["subject_types_supported"] == ["public"]
    assert metadata["claims_parameter_supported"] is False
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False


def test_p17_request_objects_are_not_honoured(client, user):
    application = ApplicationFactory()
    client.force_login(user)
    request = AuthorizationRequest(
        application.client_id,
        application.redirect_uris,
        extra={"request": "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9."},
    )
    response = authorize(client, request)
    assert not response.get("Location", "").startswith("https://evil.example")


def test_p17_jwks_serves_only_public_rs256_keys(client, metadata):
    jwks = client.get(urlsplit(metadata["jwks_uri"]).path).json()
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert key["use"] == "sig"
        assert "d" not in key and "p" not in key and "q" not in key
        assert key["kid"]


def test_p17_discovery_is_cacheable_and_public(client):
    response = client.get(DISCOVERY)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response["Cache-Control"]


def _cache_control(response) -> dict[str, str]:
    directives = (part.strip().partition("=") for part in response["Cache-Control"].split(","))
    return {name: value for name, _, value in directives}


def test_r11_the_jwks_is_cacheable_for_oidc_jwks_max_age_seconds(client, settings):
    """The JWKS's ``Cache-Control: max-age`` comes from ``OIDC_JWKS_MAX_AGE_SECONDS``, the same
    setting the rotation's publication wait is computed from: a new key signs only after every
    verifier's cached copy, served stale as the header allows, has expired (OIDC Core 10.1.1)."""
    from datetime import timedelta

    from provider_app.internal import signing_keys

    for max_age in (3600, 120):  # DOT's default, then a project's own
        settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_JWKS_MAX_AGE_SECONDS": max_age}
        response = client.get("/o/.well-known/jwks.json")
        assert response.status_code == 200 and response.json()["keys"]
        directives = _cache_control(response)
        assert "public" in directives and directives["max-age"] == str(max_age)
        stale = int(directives.get("stale-while-revalidate") or 0)
        # The longest a verifier may keep the old key set, per this header, is within the wait.
        assert signing_keys.publication_wait() >= timedelta(seconds=max_age + stale)
