"""Token, introspection (RFC 7662) and revocation (RFC 7009) endpoints with client authentication
(P15), their visibility rules (P22), the client credentials grant and the bearer-only API (P14)."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password, make_password

from provider_app.models import ClientPolicy
from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    api_me,
    basic_auth,
    client_credentials,
    exchange,
    issue_tokens,
    post_refresh,
    signed_in_code,
)

pytestmark = pytest.mark.django_db

WRONG_SECRET = "W" * 20 + "rong-secret-with-enough-length-0123456789"


def _auth(application, mode: str, secret: str | None = None) -> tuple[dict, dict]:
    """(extra POST fields, extra headers) for client authentication by ``mode`` (basic or post)."""
    secret = application.raw_secret if secret is None else secret
    if mode == "basic":
        return {}, {"HTTP_AUTHORIZATION": basic_auth(application.client_id, secret)}
    return {"client_id": application.client_id, "client_secret": secret}, {}


def _introspect(client, application, token, mode="basic", secret=None):
    data, headers = _auth(application, mode, secret)
    return client.post("/o/introspect/", {"token": token, **data}, **headers)


def _revoke(client, application, token, mode="basic", secret=None, hint=None):
    data, headers = _auth(application, mode, secret)
    if hint:
        data["token_type_hint"] = hint
    return client.post("/o/revoke_token/", {"token": token, **data}, **headers)


# Introspection (RFC 7662) ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["basic", "post"])
def test_introspection_of_an_active_token(client, user, application, mode):
    tokens = issue_tokens(client, user, application, logout=True)
    response = _introspect(client, application, tokens["access_token"], mode)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == application.client_id
    assert body["sub"] == str(user.pk)
    assert body["username"] == user.username
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    assert body["token_type"] == "Bearer"
    assert body["exp"] > body["iat"]
    assert response["Cache-Control"] == "no-store"


def test_introspection_of_unknown_or_revoked_tokens_is_inactive(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    assert _introspect(client, application, "no-such-token").json() == {"active": False}
    _revoke(client, application, tokens["access_token"])
    assert _introspect(client, application, tokens["access_token"]).json() == {"active": False}


def test_introspection_of_a_refresh_token_does_not_leak_it(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    assert _introspect(client, application, tokens["refresh_token"]).json() == {"active": False}


def test_introspection_requires_the_token_parameter(client, application):
    data, headers = _auth(application, "basic")
    response = client.post("/o/introspect/", data, **headers)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_introspection_refuses_get(client, application):
    response = client.get("/o/introspect/", {"token": "x"})
    assert response.status_code == 405


@pytest.mark.parametrize("mode", ["basic", "post"])
def test_p15_introspection_requires_client_authentication(client, user, application, mode):
    tokens = issue_tokens(client, user, application, logout=True)
    assert client.post("/o/introspect/", {"token": tokens["access_token"]}).status_code == 401
    response = _introspect(client, application, tokens["access_token"], mode, secret=WRONG_SECRET)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'  # RFC 6749 5.2
    assert "active" not in response.json()


def test_p15_public_client_cannot_introspect(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    public = ApplicationFactory(client_type="public")
    response = client.post("/o/introspect/", {"token": tokens["access_token"], "client_id": public.client_id})
    assert response.status_code == 401


def test_p22_introspection_shows_a_token_only_to_its_own_client(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    other = ApplicationFactory()
    assert _introspect(client, other, tokens["access_token"]).json() == {"active": False}
    assert _introspect(client, application, tokens["access_token"]).json()["active"] is True


def test_p22_introspection_shows_other_clients_tokens_to_a_resource_server_of_their_audience(
    client, user, application
):
    # A token requested without ``resource`` is for the default audience: the issuer.
    tokens = issue_tokens(client, user, application, logout=True)
    resource_server = ApplicationFactory()
    ClientPolicy.objects.create(
        application=resource_server, is_resource_server=True, resource_identifiers="http://testserver/o"
    )
    body = _introspect(client, resource_server, tokens["access_token"]).json()
    assert body["active"] is True
    assert body["client_id"] == application.client_id


def test_p22_a_policy_without_resource_server_flag_sees_nothing(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    other = ApplicationFactory()
    ClientPolicy.objects.create(application=other, is_resource_server=False)
    assert _introspect(client, other, tokens["access_token"]).json() == {"active": False}


def test_introspection_with_a_bearer_token_of_the_introspection_scope(client, user):
    resource_server = ApplicationFactory(authorization_grant_type="client-credentials")
    ClientPolicy.objects.create(
        application=resource_server, is_resource_server=True, resource_identifiers="http://testserver/o"
    )
    rs_token = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "introspection"},
        HTTP_AUTHORIZATION=basic_auth(resource_server.client_id, resource_server.raw_secret),
    ).json()["access_token"]
    application = ApplicationFactory()
    tokens = issue_tokens(client, user, application, logout=True)
    response = client.post(
        "/o/introspect/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=f"Bearer {rs_token}"
    )
    assert response.json()["active"] is True


def test_introspection_bearer_token_without_the_scope_is_refused(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    response = client.post(
        "/o/introspect/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )
    assert response.status_code == 401


# Revocation (RFC 7009) ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["basic", "post"])
def test_revoking_an_access_token(client, user, application, mode):
    tokens = issue_tokens(client, user, application, logout=True)
    assert api_me(client, tokens["access_token"]).status_code == 200
    response = _revoke(client, application, tokens["access_token"], mode, hint="access_token")
    assert response.status_code == 200
    assert api_me(client, tokens["access_token"]).status_code == 401


@pytest.mark.parametrize("mode", ["basic", "post"])
def test_revoking_a_refresh_token(client, user, application, mode):
    tokens = issue_tokens(client, user, application, logout=True)
    assert (
        _revoke(client, application, tokens["refresh_token"], mode, hint="refresh_token").status_code == 200
    )
    refresh = post_refresh(client, application, tokens["refresh_token"], basic=True)
    assert refresh.status_code == 400
    assert api_me(client, tokens["access_token"]).status_code == 401


def test_revoking_an_unknown_token_is_200(client, application):
    assert _revoke(client, application, "never-issued").status_code == 200


def test_p22_revoking_an_access_token_revokes_its_refresh_token(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    assert _revoke(client, application, tokens["access_token"]).status_code == 200
    refresh = post_refresh(client, application, tokens["refresh_token"], basic=True)
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_p22_a_client_cannot_revoke_another_clients_token(client, user, application, kind):
    tokens = issue_tokens(client, user, application, logout=True)
    other = ApplicationFactory()
    response = _revoke(client, other, tokens[kind], hint=kind)
    assert response.status_code == 200  # RFC 7009 2.2: no oracle for other clients' tokens
    assert api_me(client, tokens["access_token"]).status_code == 200
    refresh = post_refresh(client, application, tokens["refresh_token"], basic=True)
    assert refresh.status_code == 200


@pytest.mark.parametrize("mode", ["basic", "post"])
def test_p15_revocation_requires_client_authentication(client, user, application, mode):
    tokens = issue_tokens(client, user, application, logout=True)
    response = _revoke(client, application, tokens["access_token"], mode, secret=WRONG_SECRET)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert client.post("/o/revoke_token/", {"token": tokens["access_token"]}).status_code in (400, 401)
    assert api_me(client, tokens["access_token"]).status_code == 200


def test_p15_confidential_client_cannot_revoke_with_client_id_alone(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    response = client.post(
        "/o/revoke_token/", {"token": tokens["access_token"], "client_id": application.client_id}
    )
    assert response.status_code == 401
    assert api_me(client, tokens["access_token"]).status_code == 200


def test_public_client_revokes_its_own_token_by_client_id(client, user):
    public = ApplicationFactory(client_type="public")
    request, code = signed_in_code(client, user, public)
    tokens = exchange(client, public, request, code, client_secret=None).json()
    client.logout()
    response = client.post(
        "/o/revoke_token/", {"token": tokens["access_token"], "client_id": public.client_id}
    )
    assert response.status_code == 200
    assert api_me(client, tokens["access_token"]).status_code == 401


# P15: client authentication at the token endpoint, constant-time hasher -------------------------


@pytest.mark.parametrize("mode", ["basic", "post"])
def test_p15_token_endpoint_authenticates_confidential_clients(client, user, application, mode):
    request, code = signed_in_code(client, user, application)
    data, headers = _auth(application, mode, secret=WRONG_SECRET)
    payload = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier,
        "client_id": application.client_id,
        **data,
    }
    response = client.post("/o/token/", payload, **headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    data, headers = _auth(application, mode)
    assert client.post("/o/token/", {**payload, **data}, **headers).status_code == 200


def test_p15_basic_auth_with_a_wrong_secret_fails_even_with_a_right_body_secret(client, user, application):
    request, code = signed_in_code(client, user, application)
    response = exchange(client, application, request, code, basic=True, client_secret=WRONG_SECRET)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic !!!",
        "Basic " + "a" * 10_000,
        "Basic Zm9v",
        "Basic 6Zm9vOmJhcg==",
        "Bearer x",
        "Basic \u00e9\u202e",  # non-ASCII: base64 raised ValueError, which DOT does not catch
        "Basic //79",  # not UTF-8 once decoded
    ],
)
def test_p15_malformed_basic_credentials_are_refused_not_500(client, application, authorization):
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=authorization
    )
    assert response.status_code in (400, 401)
    for path in ("/o/introspect/", "/o/revoke_token/"):
        response = client.post(path, {"token": "x"}, HTTP_AUTHORIZATION=authorization)
        assert response.status_code in (400, 401), (path, response.status_code)


def test_p15_client_secret_stored_with_the_sha256_hasher(application):
    assert application.client_secret.startswith("client_secret_sha256$")
    assert application.raw_secret not in application.client_secret
    assert check_password(application.raw_secret, application.client_secret)
    assert not check_password(WRONG_SECRET, application.client_secret)


def test_p15_hasher_verifies_with_constant_time_compare(monkeypatch):
    from provider_app import hashers

    calls = []
    real = hashers.constant_time_compare

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hashers, "constant_time_compare", spy)
    hasher = hashers.ClientSecretSHA256Hasher()
    secret = "s" * 16 + "ecret-of-sufficient-length-0123456789"
    encoded = hasher.encode(secret, hasher.salt())
    assert hasher.verify(secret, encoded) is True
    assert hasher.verify(WRONG_SECRET, encoded) is False
    assert len(calls) == 2


def test_p15_hasher_refuses_short_inputs():
    from provider_app.hashers import ClientSecretSHA256Hasher

    hasher = ClientSecretSHA256Hasher()
    with pytest.raises(ValueError):
        hasher.encode("short password", hasher.salt())
    encoded = hasher.encode("x" * 40, hasher.salt())
    assert hasher.verify("short", encoded) is False


def test_p15_hasher_is_usable_through_django(settings):
    encoded = make_password("y" * 48, hasher="client_secret_sha256")
    assert encoded.startswith("client_secret_sha256$")
    assert check_password("y" * 48, encoded)
    assert not check_password("y" * 47 + "z", encoded)


def test_p15_hasher_summary_masks_the_hash():
    from provider_app.hashers import ClientSecretSHA256Hasher

    hasher = ClientSecretSHA256Hasher()
    encoded = hasher.encode("z" * 40, hasher.salt())
    digest = encoded.rsplit("$", 1)[1]
    assert digest not in str(hasher.safe_summary(encoded).values())


# Client credentials grant ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["basic", "post"])
def test_client_credentials_grant_for_a_confidential_client(client, mode):
    service = ApplicationFactory(authorization_grant_type="client-credentials")
    data, headers = _auth(service, mode)
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials", "scope": "introspection", **data}, **headers
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "introspection"
    assert "refresh_token" not in body
    assert "id_token" not in body
    introspected = _introspect(client, service, body["access_token"]).json()
    assert introspected["active"] is True
    # No user: the subject is the client itself (RFC 9068 2.2), and no username is reported.
    assert introspected["sub"] == service.client_id and "username" not in introspected


def test_client_credentials_with_a_wrong_secret_refused(client):
    service = ApplicationFactory(authorization_grant_type="client-credentials")
    response = client_credentials(client, service, WRONG_SECRET)
    assert response.status_code == 401


def test_client_credentials_refused_for_a_code_flow_client(client, application):
    response = client_credentials(client, application)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


def test_client_credentials_refused_for_a_public_client(client):
    public = ApplicationFactory(authorization_grant_type="client-credentials", client_type="public")
    response = client.post("/o/token/", {"grant_type": "client_credentials", "client_id": public.client_id})
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


# P14: bearer tokens in the Authorization header only -----------------------------------------------


def test_p14_api_ignores_access_token_in_query_string(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    response = client.get("/api/me", {"access_token": tokens["access_token"]})
    assert response.status_code == 401


def test_p14_api_ignores_access_token_in_form_body(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    response = client.post("/api/me", {"access_token": tokens["access_token"]})
    assert response.status_code == 401


def test_p14_api_refuses_a_valid_header_combined_with_a_query_token(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    response = client.get(
        "/api/me?access_token=" + tokens["access_token"],
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )
    assert response.status_code == 401


def test_p14_userinfo_ignores_access_token_in_query_string(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    assert client.get("/o/userinfo/", {"access_token": tokens["access_token"]}).status_code == 401


def test_p14_api_accepts_the_authorization_header(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    response = api_me(client, tokens["access_token"])
    assert response.status_code == 200
    assert response.json()["sub"] == str(user.pk)


def test_p14_api_answers_401_with_a_bearer_challenge(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


# The API enforces scopes ---------------------------------------------------------------------------


def test_api_me_requires_the_profile_scope(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True, scope="openid")
    response = api_me(client, tokens["access_token"])
    assert response.status_code == 403


def test_api_me_releases_email_only_with_the_email_scope(client, user, application):
    with_profile = api_me(
        client, issue_tokens(client, user, application, logout=True, scope="openid profile")["access_token"]
    )
    assert "email" not in with_profile.json()
    assert with_profile.json()["preferred_username"] == user.username
    with_email = api_me(
        client,
        issue_tokens(client, user, application, logout=True, scope="openid profile email")["access_token"],
    )
    assert with_email.json()["email"] == user.email


def test_api_me_refuses_an_expired_token(client, user, application):
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model

    tokens = issue_tokens(client, user, application, logout=True)
    get_access_token_model().objects.update(expires=timezone.now())
    assert api_me(client, tokens["access_token"]).status_code == 401


def test_p14_userinfo_ignores_access_token_in_form_body(client, user, application):
    tokens = issue_tokens(client, user, application, logout=True)
    assert client.post("/o/userinfo/", {"access_token": tokens["access_token"]}).status_code == 401
    both = client.post(
        "/o/userinfo/",
        {"access_token": tokens["access_token"]},
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )
    assert both.status_code == 401


def test_back_channel_endpoints_need_no_csrf_token(client, user, application):
    """Relying parties POST without cookies: Django's CSRF protection must not apply (found by the
    requests-oauthlib interop test; Django's test client skips CSRF checks unless asked)."""
    from django.test import Client

    tokens = issue_tokens(client, user, application, logout=True)
    relying_party = Client(enforce_csrf_checks=True)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert relying_party.post("/o/userinfo/", **bearer).status_code == 200
    assert _introspect(relying_party, application, tokens["access_token"]).status_code == 200
    refresh = post_refresh(relying_party, application, tokens["refresh_token"], basic=True)
    assert refresh.status_code == 200
    assert _revoke(relying_party, application, refresh.json()["access_token"]).status_code == 200
