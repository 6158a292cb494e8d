"""OpenID Connect and two-factor: prompt, max_age, acr_values, policy, and auth_time/amr/acr (P18, P19)."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.test import Client, override_settings
from jwcrypto import jwt

from provider_app.app_settings import ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR
from provider_app.internal.login_requirements import FRESH_LOGIN_PARAM
from provider_app.models import ClientPolicy
from tests.oauth_helpers import (
    AuthorizationRequest,
    exchange,
    fetch_jwks,
    post_refresh,
    query_of,
    validate_id_token,
)
from tests.provider_app.two_factor_helpers import (
    code_at,
    consent_and_get_code,
    is_login_redirect,
    login_two_factor,
    make_device,
    password_step,
    sign_in_from,
)

pytestmark = pytest.mark.django_db

T0 = 1_900_000_000


def _request(application, **extra) -> AuthorizationRequest:
    return AuthorizationRequest(application.client_id, application.redirect_uris, extra=extra)


def _id_token(client, application, request, code) -> dict:
    response = exchange(client, application, request, code)
    assert response.status_code == 200, response.content
    body = response.json()
    claims = validate_id_token(
        client, body["id_token"], audience=application.client_id, nonce=request.nonce, access_token=None
    )
    claims["_refresh_token"] = body["refresh_token"]
    return claims


def _signed_claims(client, id_token: str) -> dict:
    """The claims of an ID token whose signature checks against the provider's JWKS."""
    _discovery, keyset = fetch_jwks(client)
    return json.loads(jwt.JWT(jwt=id_token, key=keyset, algs=["RS256"]).claims)


def _authorize(client, request):
    return client.get("/o/authorize/", request.params())


def _code_flow(client, application, **extra) -> dict:
    request = _request(application, **extra)
    return _claims_from(client, application, request, _authorize(client, request))


def _claims_from(client, application, request, response) -> dict:
    """From an authorization response: consent if asked, redeem the code; the ID token's claims."""
    return _id_token(client, application, request, consent_and_get_code(client, response)["code"])


# --- P19: what the ID token says about the authentication ---------------------------------------


def test_p19_password_login_gives_amr_pwd_and_single_factor_acr(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 50, tick=False):
        claims = _code_flow(client, application)
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == ACR_SINGLE_FACTOR
    assert claims["auth_time"] == T0


def test_p19_two_factor_login_gives_amr_pwd_otp_mfa(client, user, application):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        login_two_factor(client, user, device)
    with time_machine.travel(T0 + 50, tick=False):
        claims = _code_flow(client, application)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MULTI_FACTOR
    assert claims["auth_time"] == T0


def test_p19_auth_time_is_this_sessions_login_not_last_login(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 100, tick=False):
        password_step(Client(), user)  # another browser: last_login moves on
    user.refresh_from_db()
    assert int(user.last_login.timestamp()) == T0 + 100
    with time_machine.travel(T0 + 200, tick=False):
        claims = _code_flow(client, application)
    assert claims["auth_time"] == T0


def test_p19_id_token_carries_nonce_and_at_hash(client, user, application):
    password_step(client, user)
    request = _request(application)
    params = consent_and_get_code(client, _authorize(client, request))
    body = exchange(client, application, request, params["code"]).json()
    claims = validate_id_token(
        client,
        body["id_token"],
        audience=application.client_id,
        nonce=request.nonce,
        access_token=body["access_token"],
    )
    assert claims["nonce"] == request.nonce and claims["amr"] == ["pwd"]


def test_p19_refreshed_id_token_keeps_the_original_authentication(client, user, application):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        login_two_factor(client, user, device)
        claims = _code_flow(client, application)
    with time_machine.travel(T0 + 1000, tick=False):
        response = post_refresh(client, application, claims["_refresh_token"])
        assert response.status_code == 200, response.content
        refreshed = _signed_claims(client, response.json()["id_token"])
    assert refreshed["auth_time"] == T0
    assert refreshed["amr"] == ["pwd", "otp", "mfa"]
    assert refreshed["acr"] == ACR_MULTI_FACTOR


def test_p17_discovery_lists_acr_values_and_the_authentication_claims(client):
    metadata = client.get("/o/.well-known/openid-configuration").json()
    assert metadata["acr_values_supported"] == [ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR]
    assert {"auth_time", "amr", "acr"} <= set(metadata["claims_supported"])


# --- P18: prompt and max_age ----------------------------------------------------------------------


def test_p18_prompt_login_forces_a_fresh_login_and_auth_time_reflects_it(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 100, tick=False):
        request = _request(application, prompt="login")
        response = _authorize(client, request)
        assert is_login_redirect(response)
        assert "prompt%3Dlogin" not in response["Location"]
        back = sign_in_from(client, response, user)
        claims = _claims_from(client, application, request, back)
    assert claims["auth_time"] == T0 + 100


def test_p18_prompt_login_cannot_be_skipped_by_reusing_the_return_url(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
        response = _authorize(client, _request(application, prompt="login"))
        next_url = query_of(response["Location"])["next"]
    with time_machine.travel(T0 + 5, tick=False):
        # Going straight to the return URL without signing in again: still sent to log in.
        assert is_login_redirect(client.get(next_url))


def test_p18_forged_fresh_login_marker_means_login_again(client, user, application):
    password_step(client, user)
    response = _authorize(client, _request(application, **{FRESH_LOGIN_PARAM: "forged"}))
    assert is_login_redirect(response)


def test_p18_fresh_login_marker_of_one_request_does_not_serve_another(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 100, tick=False):
        first = _authorize(client, _request(application, prompt="login"))
        marker = query_of(query_of(first["Location"])["next"])[FRESH_LOGIN_PARAM]
        sign_in_from(client, first, user)
    with time_machine.travel(T0 + 700, tick=False):
        # Another request (other state and nonce) with max_age=60 carrying the first one's marker.
        second = _authorize(client, _request(application, max_age="60", **{FRESH_LOGIN_PARAM: marker}))
    assert is_login_redirect(second)


def test_p18_max_age_exceeded_forces_login(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 600, tick=False):
        request = _request(application, max_age="300")
        response = _authorize(client, request)
        assert is_login_redirect(response)
        claims = _claims_from(client, application, request, sign_in_from(client, response, user))
    assert claims["auth_time"] == T0 + 600


def test_p18_max_age_not_exceeded_keeps_the_session(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 600, tick=False):
        claims = _code_flow(client, application, max_age="3600")
    assert claims["auth_time"] == T0


def test_p18_max_age_zero_logs_in_once_without_a_loop(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 10, tick=False):
        request = _request(application, max_age="0")
        response = _authorize(client, request)
        assert is_login_redirect(response)
        back = sign_in_from(client, response, user)
    with time_machine.travel(T0 + 12, tick=False):  # time passes between login and return
        claims = _claims_from(client, application, request, back)
    assert claims["auth_time"] == T0 + 10


def test_p18_max_age_for_a_signed_out_user_returns_after_one_login(client, user, application):
    request = _request(application, max_age="0")
    response = _authorize(client, request)
    assert is_login_redirect(response)
    params = consent_and_get_code(client, sign_in_from(client, response, user))
    assert "code" in params


def test_p18_prompt_none_without_session_returns_login_required_with_iss_and_state(client, application):
    request = _request(application, prompt="none")
    response = _authorize(client, request)
    assert response.status_code == 302
    assert response["Location"].startswith(application.redirect_uris + "?")
    params = query_of(response["Location"])
    assert params["error"] == "login_required"
    assert params["state"] == request.state
    issuer = client.get("/o/.well-known/openid-configuration").json()["issuer"]
    assert params["iss"] == issuer
    assert "code" not in params


@pytest.mark.parametrize(
    "override",
    [{"client_id": "unknown-client"}, {"redirect_uri": "https://evil.example/callback"}],
    ids=["unknown-client", "unregistered-redirect-uri"],
)
def test_p18_prompt_none_with_bad_client_or_redirect_uri_gets_the_error_page(client, application, override):
    params = _request(application, prompt="none").params()
    params.update(override)
    response = client.get("/o/authorize/", params)
    assert response.status_code == 400
    assert "Location" not in response


def test_p18_prompt_none_with_session_and_consent_issues_a_code(client, user, application):
    password_step(client, user)
    _code_flow(client, application)  # consent remembered
    request = _request(application, prompt="none")
    response = _authorize(client, request)
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert "code" in params and params["state"] == request.state


def test_p18_prompt_none_without_consent_is_consent_required(client, user, application):
    password_step(client, user)
    response = _authorize(client, _request(application, prompt="none"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "consent_required"


def test_p18_prompt_none_never_shows_a_page_also_without_openid_scope(client, user, application):
    password_step(client, user)
    request = _request(application, prompt="none")
    request.scope = "profile"
    response = _authorize(client, request)
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params["error"] == "consent_required" and params["state"] == request.state and "iss" in params


def test_p18_prompt_none_without_scope_uses_the_default_scopes_consent(client, user, application):
    password_step(client, user)
    _code_flow(client, application)
    params = _request(application, prompt="none").params()
    params.pop("scope")
    response = client.get("/o/authorize/", params)
    assert response.status_code == 302
    assert "code" in query_of(response["Location"]), response["Location"]


def test_p18_prompt_none_with_max_age_exceeded_is_login_required(client, user, application):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
        _code_flow(client, application)
    with time_machine.travel(T0 + 600, tick=False):
        response = _authorize(client, _request(application, prompt="none", max_age="60"))
    assert query_of(response["Location"])["error"] == "login_required"


def test_p18_prompt_none_asking_for_mfa_on_a_password_session_is_login_required(client, user, application):
    password_step(client, user)
    _code_flow(client, application)
    response = _authorize(client, _request(application, prompt="none", acr_values=ACR_MULTI_FACTOR))
    assert query_of(response["Location"])["error"] == "login_required"


# --- step-up and policy -----------------------------------------------------------------------------


def test_acr_values_multi_factor_steps_up_to_the_second_factor(client, user, application):
    device = make_device(user)
    client.force_login(user)  # a password-only session
    request = _request(application, acr_values=ACR_MULTI_FACTOR)
    response = _authorize(client, request)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/two-factor/verify/?next=")
    page = client.get(response["Location"])
    assert page.status_code == 200
    back = client.post(response["Location"], {"code": code_at(device)})
    claims = _claims_from(client, application, request, back)
    assert claims["acr"] == ACR_MULTI_FACTOR
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_acr_values_pape_alias_also_steps_up(client, user, application):
    make_device(user)
    client.force_login(user)
    pape = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
    response = _authorize(client, _request(application, acr_values=pape))
    assert response["Location"].startswith("/account/two-factor/verify/")


def test_acr_values_single_factor_needs_no_step_up(client, user, application):
    client.force_login(user)
    claims = _code_flow(client, application, acr_values=ACR_SINGLE_FACTOR)
    assert claims["acr"] == ACR_SINGLE_FACTOR


def test_a_user_with_a_device_is_stepped_up_however_the_session_was_opened(client, user, application):
    device = make_device(user)
    client.force_login(user)  # e.g. a project's own password-only login view
    request = _request(application)
    response = _authorize(client, request)
    assert response["Location"].startswith("/account/two-factor/verify/?next=")
    back = client.post(response["Location"], {"code": code_at(device)})
    claims = _claims_from(client, application, request, back)
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def _enrol_from(client, response, user):
    """Follow an enrolment redirect: confirm a new device with its current code, see the codes."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert response["Location"].startswith("/account/two-factor/setup/?next=")
    setup_url = response["Location"]
    page = client.get(setup_url)
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(setup_url, {"device": device.pk, "name": "phone", "code": code_at(device)})
    assert done.status_code == 200 and len(done.context["codes"]) == 10
    return client.get(done.context["next"])


def test_client_requiring_two_factor_leads_a_user_without_device_through_enrolment(client, user, application):
    ClientPolicy.objects.create(application=application, require_two_factor=True)
    client.force_login(user)
    request = _request(application)
    response = _authorize(client, request)
    back = _enrol_from(client, response, user)
    claims = _claims_from(client, application, request, back)
    assert claims["acr"] == ACR_MULTI_FACTOR and "otp" in claims["amr"]


def test_client_requiring_two_factor_steps_up_a_user_with_device(client, user, application):
    ClientPolicy.objects.create(application=application, require_two_factor=True)
    make_device(user)
    client.force_login(user)
    response = _authorize(client, _request(application))
    assert response["Location"].startswith("/account/two-factor/verify/")


def test_client_requiring_two_factor_refuses_a_consent_post_without_it(client, user, application):
    ClientPolicy.objects.create(application=application, require_two_factor=True)
    client.force_login(user)
    request = _request(application)
    data = {k: v for k, v in request.params().items() if k != "nonce"}
    data.update({"allow": "Authorize", "scope": request.scope, "nonce": request.nonce})
    response = client.post("/o/authorize/", data)
    assert response.status_code == 403
    assert "Location" not in response


def test_client_requiring_two_factor_still_lets_the_user_deny(client, user, application):
    ClientPolicy.objects.create(application=application, require_two_factor=True)
    client.force_login(user)
    request = _request(application)
    data = dict(request.params())
    response = client.post("/o/authorize/", data)  # no "allow": the Deny button
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "access_denied"


def test_device_owner_cannot_approve_by_post_without_the_second_factor(client, user, application):
    make_device(user)
    client.force_login(user)
    data = {**_request(application).params(), "allow": "Authorize"}
    assert client.post("/o/authorize/", data).status_code == 403


def test_client_without_the_flag_needs_no_second_factor(client, user, application):
    ClientPolicy.objects.create(application=application, require_two_factor=False)
    client.force_login(user)
    assert _code_flow(client, application)["amr"] == ["pwd"]


@override_settings(PROVIDER_APP_REQUIRE_TWO_FACTOR=True)
def test_setting_requires_two_factor_for_every_client(client, user, application):
    client.force_login(user)
    request = _request(application)
    response = _authorize(client, request)
    back = _enrol_from(client, response, user)
    assert _claims_from(client, application, request, back)["acr"] == ACR_MULTI_FACTOR


@override_settings(PROVIDER_APP_REQUIRE_TWO_FACTOR=True)
def test_setting_sends_a_user_without_device_to_enrolment_after_the_password(client, user):
    response = password_step(client, user, "/account/two-factor/")
    assert response["Location"].startswith("/account/two-factor/setup/?next=")


def test_multi_factor_for_a_session_without_a_password_step_means_a_full_login(client, user, application):
    """A session opened by another backend (no ``pwd``): a code alone would not make it multi-factor."""
    from provider_app.internal.login import AUTHENTICATION_KEY

    device = make_device(user)
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_KEY] = {**session[AUTHENTICATION_KEY], "methods": []}
    session.save()
    request = _request(application, acr_values=ACR_MULTI_FACTOR)
    response = _authorize(client, request)
    assert is_login_redirect(response)
    claims = _claims_from(client, application, request, sign_in_from(client, response, user, device))
    assert claims["amr"] == ["pwd", "otp", "mfa"]
