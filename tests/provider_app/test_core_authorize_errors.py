"""Authorization requests that must fail, and how: redirect URI rules (P1, P2, P13), PKCE (P3, P4),
codes (P6), refused response types and grants (P7), and the RFC 9207 ``iss`` on errors (P9)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    AuthorizationRequest,
    authorize,
    consent_form,
    exchange,
    get_code,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db

REGISTERED = "https://client.example.com/callback"


def _issuer(client) -> str:
    return client.get("/o/.well-known/openid-configuration").json()["issuer"]


def _assert_error_page(response) -> None:
    """An error shown to the user on the provider's own page: no redirect anywhere (RFC 6749 4.1.2.1)."""
    assert response.status_code == 400, (response.status_code, response.get("Location"))
    assert "Location" not in response
    assert b"cannot be completed" in response.content


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


# P1: exact redirect URI matching ---------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REGISTERED + "#fragment",
        REGISTERED + "#",
        "https://user@client.example.com/callback",
        "https://user:pass@client.example.com/callback",
        REGISTERED + "?extra=1",
        REGISTERED + "?",
        REGISTERED + ";params",
        REGISTERED + "/",
        "https://client.example.com/Callback",
        "https://client.example.com:8443/callback",
        "https://client.example.com:443/callback",
        "https://CLIENT.example.com/callback",
        "HTTPS://client.example.com/callback",
        "https://client.example.com.evil.example/callback",
        "https://evil.example/callback",
        "https://client.example.com/callback/../callback",
        "https://client.example.com/callback%2F",
    ],
)
def test_p1_redirect_uri_must_match_exactly(logged_in, application, redirect_uri):
    request = AuthorizationRequest(application.client_id, redirect_uri)
    _assert_error_page(authorize(logged_in, request))


def test_p1_fragment_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED + "#x")
    _assert_error_page(authorize(logged_in, request))


def test_p1_userinfo_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, "https://attacker@client.example.com/callback")
    _assert_error_page(authorize(logged_in, request))


def test_p1_extra_query_parameters_rejected(logged_in):
    application = ApplicationFactory(redirect_uris="https://client.example.com/cb?tenant=a")
    for redirect_uri in (
        "https://client.example.com/cb?tenant=a&x=1",
        "https://client.example.com/cb?tenant=b",
        "https://client.example.com/cb",
        "https://client.example.com/cb?x=1&tenant=a",
    ):
        _assert_error_page(authorize(logged_in, AuthorizationRequest(application.client_id, redirect_uri)))
    ok = authorize(
        logged_in, AuthorizationRequest(application.client_id, "https://client.example.com/cb?tenant=a")
    )
    assert ok.status_code == 302
    assert ok["Location"].startswith("https://client.example.com/cb?tenant=a&")


def test_p1_semicolon_params_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED + ";jsessionid=evil")
    _assert_error_page(authorize(logged_in, request))


def test_p1_exact_registered_uri_accepted(logged_in, application):
    response = authorize(logged_in, AuthorizationRequest(application.client_id, REGISTERED))
    assert response.status_code == 302
    assert response["Location"].startswith(REGISTERED + "?")


@pytest.mark.parametrize(
    ("registered", "requested"),
    [
        ("http://127.0.0.1/callback", "http://127.0.0.1:51234/callback"),
        ("http://127.0.0.1:8000/callback", "http://127.0.0.1:9000/callback"),
        ("http://[::1]/callback", "http://[::1]:61000/callback"),
    ],
)
def test_p1_only_loopback_may_vary_the_port(logged_in, registered, requested):
    application = ApplicationFactory(redirect_uris=registered)
    response = authorize(logged_in, AuthorizationRequest(application.client_id, requested))
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(requested + "?")
    # Everything but the port must still match exactly.
    _assert_error_page(authorize(logged_in, AuthorizationRequest(application.client_id, requested + "x")))


def test_p1_non_loopback_port_may_not_vary(logged_in):
    application = ApplicationFactory(redirect_uris="https://client.example.com:8443/callback")
    for requested in ("https://client.example.com:9443/callback", "https://client.example.com/callback"):
        _assert_error_page(authorize(logged_in, AuthorizationRequest(application.client_id, requested)))


def test_p1_redirect_uri_checked_again_at_the_token_endpoint(logged_in, application):
    application.redirect_uris = f"{REGISTERED} https://client.example.com/other"
    application.save()
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    response = exchange(
        logged_in, application, request, code, redirect_uri="https://client.example.com/other"
    )
    assert response.status_code == 400
    # oauthlib answers invalid_request ("Mismatching redirect URI"); RFC 6749 5.2 would say invalid_grant.
    assert response.json()["error"] in ("invalid_grant", "invalid_request")
    assert exchange(logged_in, application, request, code).status_code == 200


# P13: http only for loopback -------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri", ["http://client.example.com/cb", "http://10.0.0.1/cb", "http://localhost.evil/cb"]
)
def test_p13_http_redirect_uri_refused_when_registering(uri):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        ApplicationFactory(redirect_uris=uri)


@pytest.mark.parametrize("uri", ["http://127.0.0.1/cb", "http://[::1]/cb", "http://localhost:8000/cb"])
def test_p13_http_loopback_redirect_uri_allowed(uri):
    assert ApplicationFactory(redirect_uris=uri).pk


def test_p13_http_redirect_uri_refused_at_authorization_even_if_stored(logged_in, application):
    from oauth2_provider.models import get_application_model

    # Stored by bypassing the model's save (e.g. an old row): the authorization endpoint still refuses.
    get_application_model().objects.filter(pk=application.pk).update(
        redirect_uris="http://client.example.com/cb"
    )
    request = AuthorizationRequest(application.client_id, "http://client.example.com/cb")
    _assert_error_page(authorize(logged_in, request))


# P2: no redirect to an unverified place -----------------------------------------------------------


def test_p2_unknown_client_gets_an_error_page(logged_in):
    _assert_error_page(authorize(logged_in, AuthorizationRequest("no-such-client", REGISTERED)))


def test_p2_missing_client_id_gets_an_error_page(logged_in):
    _assert_error_page(authorize(logged_in, AuthorizationRequest("", REGISTERED)))


def test_p2_unregistered_redirect_uri_gets_an_error_page(logged_in, application):
    _assert_error_page(
        authorize(logged_in, AuthorizationRequest(application.client_id, "https://evil.example/cb"))
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"prompt": "none"},
        {"response_type": "token"},
        {"response_type": "nonsense"},
        {"response_type": None},
        {"scope": "openid admin"},
        {"code_challenge": None},
        {"code_challenge_method": "plain"},
    ],
)
@pytest.mark.parametrize("client_id", ["registered", "unknown"])
def test_p2_bad_requests_with_unregistered_redirect_uri_never_redirect(
    logged_in, application, extra, client_id
):
    request = AuthorizationRequest(
        application.client_id if client_id == "registered" else "unknown-client",
        "https://evil.example/cb",
        extra=extra,
    )
    _assert_error_page(authorize(logged_in, request))


@pytest.mark.parametrize("extra", [{"prompt": "none"}, {"response_type": "token"}, {"scope": "openid admin"}])
def test_p2_anonymous_user_with_unregistered_redirect_uri_is_not_redirected_to_it(client, application, extra):
    request = AuthorizationRequest(application.client_id, "https://evil.example/cb", extra=extra)
    response = client.get("/o/authorize/", request.params())
    assert response.status_code in (302, 400)
    assert not response.get("Location", "").startswith("https://evil.example")


# Errors with a registered redirect URI go back to the client, with iss (P9) ----------------------


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"response_type": "nonsense"}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_p9_iss_on_error_response(logged_in, application, extra, error):
    request = AuthorizationRequest(application.client_id, REGISTERED, extra=extra)
    response = authorize(logged_in, request)
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(REGISTERED + "?")
    params = query_of(response["Location"])
    assert params["error"] == error
    assert params["state"] == request.state
    assert params["iss"] == _issuer(logged_in)
    assert "code" not in params


def test_p9_iss_on_denied_consent(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    response = authorize(logged_in, request, allow=False)
    params = query_of(response["Location"])
    assert params["error"] == "access_denied"
    assert params["iss"] == _issuer(logged_in)


def test_p9_iss_on_success_response(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    params = query_of(authorize(logged_in, request)["Location"])
    assert params["iss"] == _issuer(logged_in)
    assert params["state"] == request.state
    assert params["code"]


def test_p9_iss_on_remembered_consent_and_first_party_responses(logged_in, application):
    authorize(logged_in, AuthorizationRequest(application.client_id, REGISTERED))
    remembered = logged_in.get(
        "/o/authorize/", AuthorizationRequest(application.client_id, REGISTERED).params()
    )
    assert query_of(remembered["Location"])["iss"] == _issuer(logged_in)
    first_party = ApplicationFactory(skip_authorization=True)
    response = logged_in.get(
        "/o/authorize/", AuthorizationRequest(first_party.client_id, REGISTERED).params()
    )
    assert query_of(response["Location"])["iss"] == _issuer(logged_in)


def test_p9_discovery_announces_iss_parameter(client):
    metadata = client.get("/o/.well-known/openid-configuration").json()
    assert metadata["authorization_response_iss_parameter_supported"] is True


# P3 / P4: PKCE -----------------------------------------------------------------------------------


def test_p3_pkce_required_for_confidential_clients(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED, extra={"code_challenge": None})
    params = query_of(authorize(logged_in, request)["Location"])
    assert params["error"] == "invalid_request"


def test_p3_pkce_required_for_public_clients(logged_in):
    public = ApplicationFactory(client_type="public")
    request = AuthorizationRequest(
        public.client_id, REGISTERED, extra={"code_challenge": None, "code_challenge_method": None}
    )
    params = query_of(authorize(logged_in, request)["Location"])
    assert params["error"] == "invalid_request"


def _plain_pkce(application, method: str | None) -> AuthorizationRequest:
    """A request whose code_challenge is the verifier itself (RFC 7636 4.2 "plain")."""
    verifier, _ = pkce_pair()
    return AuthorizationRequest(
        application.client_id,
        REGISTERED,
        code_verifier=verifier,
        code_challenge=verifier,
        extra={"code_challenge_method": method},
    )


def test_p3_plain_pkce_refused(logged_in, application):
    request = _plain_pkce(application, "plain")
    params = query_of(authorize(logged_in, request)["Location"])
    assert params["error"] == "invalid_request"
    assert "code" not in params


def test_p3_missing_challenge_method_is_not_taken_as_plain(logged_in, application):
    request = _plain_pkce(application, None)
    response = authorize(logged_in, request)
    params = query_of(response["Location"])
    if "code" in params:
        # RFC 7636 4.3 defaults the method to "plain"; the server must then refuse the plain verifier.
        token = exchange(logged_in, application, request, params["code"])
        assert token.status_code == 400
    else:
        assert params["error"] == "invalid_request"


def test_p3_discovery_lists_only_s256(client):
    metadata = client.get("/o/.well-known/openid-configuration").json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_p3_public_client_completes_the_flow_with_pkce_and_no_secret(logged_in):
    public = ApplicationFactory(client_type="public")
    request = AuthorizationRequest(public.client_id, REGISTERED)
    code = get_code(logged_in, request)
    response = exchange(logged_in, public, request, code, client_secret=None)
    assert response.status_code == 200, response.content
    assert response.json()["id_token"]


def test_p4_wrong_verifier_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    other_verifier, _ = pkce_pair()
    response = exchange(logged_in, application, request, code, code_verifier=other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_p4_missing_verifier_for_a_code_with_a_challenge_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    response = exchange(logged_in, application, request, code, code_verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "access_token" not in response.json()
    assert not get_access_token_model().objects.filter(application=application).exists()
    # The refused attempt did not consume the code: the holder of the verifier redeems it once.
    assert exchange(logged_in, application, request, code).status_code == 200
    assert exchange(logged_in, application, request, code).json()["error"] == "invalid_grant"


def test_p4_verifier_for_a_code_without_challenge_rejected(logged_in, application, settings):
    # Only reachable if a code was ever issued without a challenge (e.g. PKCE was once optional).
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "PKCE_REQUIRED": False}
    request = AuthorizationRequest(
        application.client_id, REGISTERED, extra={"code_challenge": None, "code_challenge_method": None}
    )
    code = get_code(logged_in, request)
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "PKCE_REQUIRED": True}
    response = exchange(logged_in, application, request, code)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


def test_p4_verifier_too_short_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    response = exchange(logged_in, application, request, code, code_verifier="short")
    assert response.status_code == 400


# P6: short-lived codes bound to their request ----------------------------------------------------


def test_p6_code_lifetime_is_at_most_60_seconds(settings):
    from oauth2_provider.settings import oauth2_settings

    assert oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS <= 60


def test_p6_expired_code_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        code = get_code(logged_in, request)
        traveller.shift(datetime.timedelta(seconds=61))
        response = exchange(logged_in, application, request, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_p6_code_still_valid_just_before_60_seconds(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        code = get_code(logged_in, request)
        traveller.shift(datetime.timedelta(seconds=59))
        response = exchange(logged_in, application, request, code)
    assert response.status_code == 200, response.content


def test_p6_code_bound_to_client(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    other = ApplicationFactory()
    response = exchange(logged_in, other, request, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_p6_code_bound_to_redirect_uri(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    response = exchange(logged_in, application, request, code, redirect_uri=REGISTERED + "x")
    assert response.status_code == 400


def test_p6_code_bound_to_pkce_challenge(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    other_verifier, _ = pkce_pair()
    assert exchange(logged_in, application, request, code, code_verifier=other_verifier).status_code == 400


def test_p6_code_bound_to_nonce(logged_in, application):
    from tests.oauth_helpers import validate_id_token

    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    body = exchange(logged_in, application, request, code, nonce="attacker-chosen").json()
    claims = validate_id_token(
        logged_in, body["id_token"], audience=application.client_id, nonce=request.nonce, access_token=None
    )
    assert claims["nonce"] == request.nonce


def test_p6_code_cannot_be_redeemed_twice(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    assert exchange(logged_in, application, request, code).status_code == 200
    again = exchange(logged_in, application, request, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


# P7: implicit, hybrid and password refused -------------------------------------------------------


@pytest.mark.parametrize(
    "response_type", ["token", "id_token", "id_token token", "code id_token", "code token"]
)
def test_p7_implicit_and_hybrid_response_types_refused(logged_in, application, response_type):
    request = AuthorizationRequest(application.client_id, REGISTERED, extra={"response_type": response_type})
    response = authorize(logged_in, request)
    assert response.status_code in (302, 400)
    location = response.get("Location", "")
    assert "#" not in location and "access_token" not in location and "id_token" not in location
    if location:
        # RFC 6749 4.1.2.1: either error fits a response type this client may not use.
        assert query_of(location)["error"] in ("unsupported_response_type", "unauthorized_client")


@pytest.mark.parametrize("grant_type", ["implicit", "openid-hybrid"])
def test_p7_implicit_and_hybrid_refused_even_for_clients_registered_for_them(logged_in, grant_type):
    application = ApplicationFactory(authorization_grant_type=grant_type)
    for response_type in ("token", "id_token token", "code id_token"):
        request = AuthorizationRequest(
            application.client_id, REGISTERED, extra={"response_type": response_type}
        )
        location = authorize(logged_in, request).get("Location", "")
        assert "access_token" not in location and "id_token=" not in location


def test_p7_password_grant_refused(client, user):
    from tests.factories import USER_PASSWORD

    application = ApplicationFactory(authorization_grant_type="password")
    response = client.post(
        "/o/token/",
        {
            "grant_type": "password",
            "username": user.username,
            "password": USER_PASSWORD,
            "client_id": application.client_id,
            "client_secret": application.raw_secret,
        },
    )
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


def test_p7_not_advertised(client):
    metadata = client.get("/o/.well-known/openid-configuration").json()
    assert set(metadata["response_types_supported"]) == {"code"}
    assert "implicit" not in metadata["grant_types_supported"]
    assert "password" not in metadata["grant_types_supported"]
    assert metadata.get("response_modes_supported", ["query"]) == ["query"]


# Wrong client secrets and malformed requests at the token endpoint -------------------------------


def test_wrong_client_secret_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    response = exchange(logged_in, application, request, code, client_secret="x" * 64)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # The code was not spent by the failed attempt: the real client can still redeem it.
    assert exchange(logged_in, application, request, code).status_code == 200


def test_confidential_client_without_secret_rejected(logged_in, application):
    request = AuthorizationRequest(application.client_id, REGISTERED)
    code = get_code(logged_in, request)
    response = exchange(logged_in, application, request, code, client_secret=None)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"grant_type": "nonsense"},
        {"grant_type": "authorization_code"},
        {"grant_type": "authorization_code", "code": "x" * 5000},
        {"grant_type": "refresh_token", "refresh_token": "\x00"},
        {"grant_type": "authorization_code", "code": "abc", "client_id": "\x00"},
    ],
)
def test_malformed_token_requests_never_500(client, application, data):
    response = client.post("/o/token/", data)
    assert response.status_code in (400, 401)
    assert "error" in response.json()


@pytest.mark.parametrize(
    "query",
    [
        "client_id=%00&response_type=code",
        "response_type=code&redirect_uri=%00",
        "client_id=a&client_id=b&response_type=code",
        "response_type=code&scope=%ff",
        "redirect_uri=https://[::1&client_id=x&response_type=code",
    ],
)
def test_malformed_authorization_requests_never_500(logged_in, query):
    response = logged_in.get("/o/authorize/?" + query)
    assert response.status_code in (302, 400)
    assert not response.get("Location", "").startswith("http")


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/o/authorize/", {"client_id": "a\x00b", "response_type": "code"}),
        (
            "get",
            "/o/authorize/",
            {"client_id": "CLIENT", "response_type": "code", "redirect_uri": "https://x/\x00"},
        ),
        (
            "get",
            "/o/authorize/",
            {"client_id": "CLIENT", "response_type": "code", "state": "\x00", "scope": "\x00"},
        ),
        ("post", "/o/token/", {"grant_type": "authorization_code", "code": "\x00", "client_id": "CLIENT"}),
        (
            "post",
            "/o/token/",
            {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "\x00"},
        ),
        ("post", "/o/introspect/", {"token": "\x00", "client_id": "\x00", "client_secret": "x"}),
        ("post", "/o/revoke_token/", {"token": "\x00", "client_id": "\x00"}),
        ("get", "/o/logout/", {"client_id": "\x00"}),
        ("post", "/account/login/", {"username": "\x00", "password": "\x00"}),
    ],
)
def test_nul_bytes_never_500(logged_in, application, method, path, data):
    """PostgreSQL refuses NUL bytes in text columns (DataError): every lookup must treat them as unknown."""
    data = {key: value.replace("CLIENT", application.client_id) for key, value in data.items()}
    response = getattr(logged_in, method)(path, data)
    assert response.status_code < 500
    assert not response.get("Location", "").startswith("https://x/")


def _consent_form(client, application) -> dict:
    request = AuthorizationRequest(application.client_id, REGISTERED)
    return consent_form(client.get("/o/authorize/", request.params()))


@pytest.mark.parametrize(
    "tamper",
    [
        {"client_id": "unknown"},
        {"client_id": ""},
        {"redirect_uri": "https://evil.example/cb"},
        {"response_type": "token"},
        {"scope": "openid admin"},
        {"code_challenge": ""},
        {"code_challenge_method": "plain"},
        {"nonce": "n" * 300},
        {"code_challenge": "c" * 200},
        {"claims": "{not json"},
    ],
)
def test_tampered_consent_form_never_500_nor_redirects_elsewhere(logged_in, application, tamper):
    data = {**_consent_form(logged_in, application), **tamper, "allow": "Authorize"}
    response = logged_in.post("/o/authorize/", data)
    assert response.status_code in (200, 302, 400)
    location = response.get("Location", "")
    assert not location or location.startswith(REGISTERED + "?")
    assert "#" not in location
    if location:
        params = query_of(location)
        assert "code" not in params
        assert params["iss"] == _issuer(logged_in)


@pytest.mark.parametrize("extra", [{"nonce": "n" * 256}, {"code_challenge": "c" * 129}])
def test_over_long_stored_parameters_are_invalid_request(logged_in, application, extra):
    """Values longer than DOT's columns were a PostgreSQL DataError (500)."""
    request = AuthorizationRequest(application.client_id, REGISTERED, extra=extra)
    params = query_of(authorize(logged_in, request)["Location"])
    assert params["error"] == "invalid_request"
    assert params["state"] == request.state


def test_p9_iss_equals_the_configured_issuer(logged_in, application, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": "https://id.example.com/o"}
    assert _issuer(logged_in) == "https://id.example.com/o"
    ok = authorize(logged_in, AuthorizationRequest(application.client_id, REGISTERED))
    assert query_of(ok["Location"])["iss"] == "https://id.example.com/o"
    error = authorize(
        logged_in, AuthorizationRequest(application.client_id, REGISTERED, scope="openid admin")
    )
    assert query_of(error["Location"])["iss"] == "https://id.example.com/o"


def test_p9_iss_in_a_registered_uri_query_is_replaced(logged_in):
    application = ApplicationFactory(redirect_uris="https://client.example.com/cb?iss=https://evil.example")
    request = AuthorizationRequest(
        application.client_id, "https://client.example.com/cb?iss=https://evil.example"
    )
    response = authorize(logged_in, request)
    from urllib.parse import parse_qs, urlsplit

    assert parse_qs(urlsplit(response["Location"]).query)["iss"] == [_issuer(logged_in)]


def test_p1_localhost_is_not_a_loopback_ip_and_may_not_vary_the_port(logged_in):
    # RFC 8252 7.3 allows any port for loopback IP literals; "localhost" is NOT RECOMMENDED (8.3).
    application = ApplicationFactory(redirect_uris="http://localhost:8000/callback")
    ok = authorize(logged_in, AuthorizationRequest(application.client_id, "http://localhost:8000/callback"))
    assert ok.status_code == 302
    other_port = AuthorizationRequest(application.client_id, "http://localhost:9000/callback")
    _assert_error_page(authorize(logged_in, other_port))
