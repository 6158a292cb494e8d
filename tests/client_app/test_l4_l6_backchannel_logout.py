"""OpenID Connect Back-Channel Logout 1.0 at the client: a provider nobody here wrote (the fake
provider, whose keys the test makes) posts logout tokens; L4 (validation), L5 (sessions and
tokens end), L6 (answers, CSRF)."""

from __future__ import annotations

import base64
import time
import uuid

import pytest
from django.contrib.auth import update_session_auth_hash
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path
from jwcrypto import jwk

from client_app.models import ProviderSession, SeenLogoutToken, SocialAccount, TokenSet
from client_app.signals import logged_out_by_provider
from tests.client_app.conftest import Flow
from tests.client_app.fake_provider import CLIENT_ID, ISSUER, sign, unsigned

pytestmark = pytest.mark.django_db

EVENT = "http://schemas.openid.net/event/backchannel-logout"
URL = "/client/example/backchannel-logout/"


def _password_changed(request):
    update_session_auth_hash(request, request.user)  # what Django does after a password change
    return HttpResponse("changed")


# The project's URLs, plus a page that changes the session key (used with pytest.mark.urls).
urlpatterns = [path("test/password-changed/", _password_changed), path("", include("oauthsite.urls"))]


def logout_token(fake, *, drop=(), typ="logout+jwt", key=None, alg="RS256", kid="default", **claims) -> str:
    body = {
        "iss": ISSUER, "aud": CLIENT_ID, "iat": int(time.time()), "exp": int(time.time()) + 120,
        "jti": uuid.uuid4().hex, "events": {EVENT: {}}, "sub": fake.sub, "sid": "op-session-1", **claims,
    }  # fmt: skip
    for name in drop:
        body.pop(name)
    return sign(body, key or fake.key, alg=alg, typ=typ, kid=kid)


def post(token, client=None):
    return (client or Client(enforce_csrf_checks=True)).post(URL, {"logout_token": token})


def signed_in(provider, fake, sid: str) -> Client:
    """A browser of the fake provider's user, signed in here through provider session ``sid``."""
    browser = Client()
    fake.claims["sid"] = sid
    response = Flow(browser, provider, fake).login()
    assert response.status_code == 302, response.content
    assert browser.get("/client/profile/").status_code == 200
    return browser


def still_signed_in(browser: Client) -> bool:
    return browser.get("/client/profile/").status_code == 200


@pytest.fixture
def two_sessions(provider, fake_provider):
    """The same user signed in twice (provider sessions op-session-1 and op-session-2)."""
    return signed_in(provider, fake_provider, "op-session-1"), signed_in(
        provider, fake_provider, "op-session-2"
    )


def test_l5_a_logout_token_with_sid_ends_that_provider_sessions_local_session_only(
    fake_provider, two_sessions
):
    first, second = two_sessions
    ended = []
    logged_out_by_provider.connect(
        lambda **kw: ended.append(kw["sessions_ended"]), weak=False, dispatch_uid="t"
    )
    try:
        response = post(logout_token(fake_provider, sid="op-session-1"))
    finally:
        logged_out_by_provider.disconnect(dispatch_uid="t")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert not still_signed_in(first) and still_signed_in(second)
    assert ended == [1]
    assert not TokenSet.objects.exists()  # the user's tokens at that provider are gone


def test_l5_a_logout_token_with_sub_only_ends_every_session_of_that_subject(
    provider, fake_provider, two_sessions
):
    other = Client()
    other_user = SocialAccount.objects.get().user.__class__.objects.create_user("someone-else")
    other.force_login(other_user)
    response = post(logout_token(fake_provider, drop=["sid"]))
    assert response.status_code == 200
    assert not any(still_signed_in(browser) for browser in two_sessions)
    assert still_signed_in(other)  # a session that no provider session began is untouched
    assert not ProviderSession.objects.exists()


def test_l5_the_session_key_is_kept_encrypted(fake_provider, two_sessions):
    from django.db import connection

    key = two_sessions[0].session.session_key
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_key, session_key_hash FROM client_app_providersession")
        stored = cursor.fetchall()
    assert stored and not any(key in row[0] or key in row[1] for row in stored)


def test_l5_a_local_logout_forgets_the_session(fake_provider, two_sessions):
    first, _ = two_sessions
    first.post("/client/logout/")
    assert ProviderSession.objects.filter(sid="op-session-1").count() == 0
    assert ProviderSession.objects.filter(sid="op-session-2").count() == 1


HMAC_KEY = jwk.JWK(kty="oct", k="c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", kid="default")


def _other_key():
    return jwk.JWK.generate(kty="RSA", size=2048, kid="default")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda fake: "", id="empty"),
        pytest.param(lambda fake: "not-a-jwt", id="garbage"),
        pytest.param(lambda fake: "a.b.c" * 5000, id="huge"),
        pytest.param(lambda fake: logout_token(fake, key=_other_key()), id="signed-by-another-key"),
        pytest.param(
            lambda fake: unsigned(
                {"iss": ISSUER, "aud": CLIENT_ID, "sid": "op-session-1", "events": {EVENT: {}}},
                {"alg": "none", "typ": "logout+jwt"},
            ),
            id="alg-none",
        ),  # fmt: skip
        pytest.param(
            lambda fake: logout_token(fake, alg="HS256", key=HMAC_KEY),
            id="hmac",
        ),
        pytest.param(lambda fake: logout_token(fake, iss="https://evil.example.com"), id="wrong-iss"),
        pytest.param(lambda fake: logout_token(fake, aud="another-client"), id="wrong-aud"),
        pytest.param(lambda fake: logout_token(fake, iat=int(time.time()) - 3600), id="stale-iat"),
        pytest.param(lambda fake: logout_token(fake, iat=int(time.time()) + 3600), id="future-iat"),
        pytest.param(lambda fake: logout_token(fake, drop=["iat"]), id="no-iat"),
        pytest.param(lambda fake: logout_token(fake, exp=int(time.time()) - 3600), id="expired"),
        pytest.param(lambda fake: logout_token(fake, typ="JWT"), id="typ-jwt"),
        pytest.param(lambda fake: logout_token(fake, typ=None), id="untyped"),
        pytest.param(lambda fake: logout_token(fake, drop=["events"]), id="no-events"),
        pytest.param(lambda fake: logout_token(fake, events={EVENT: "yes"}), id="event-not-object"),
        pytest.param(lambda fake: logout_token(fake, events={"urn:other": {}}), id="other-event"),
        pytest.param(lambda fake: logout_token(fake, nonce="n-0S6_WzA2Mj"), id="nonce"),
        pytest.param(lambda fake: logout_token(fake, drop=["sid", "sub"]), id="neither-sid-nor-sub"),
        pytest.param(lambda fake: logout_token(fake, sid=["op-session-1"]), id="sid-not-string"),
        pytest.param(lambda fake: logout_token(fake, drop=["jti"]), id="no-jti"),
        pytest.param(lambda fake: logout_token(fake, drop=["exp"]), id="no-exp"),
        pytest.param(lambda fake: logout_token(fake, iat=float("nan")), id="nan-iat"),
        pytest.param(lambda fake: logout_token(fake, sid="op-session-1\ud800"), id="lone-surrogate"),
        pytest.param(lambda fake: _b64(b"[" * 5000) + ".e30.c2ln", id="deeply-nested-header"),
    ],
)
def test_l4_a_logout_token_that_fails_a_check_is_refused_and_ends_nothing(fake_provider, two_sessions, make):
    response = post(make(fake_provider))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request" and response["Cache-Control"] == "no-store"
    assert all(still_signed_in(browser) for browser in two_sessions)
    assert not SeenLogoutToken.objects.exists()


def test_l4_a_logout_token_acts_once(provider, fake_provider, two_sessions):
    token = logout_token(fake_provider, sid="op-session-1")
    assert post(token).status_code == 200
    again = signed_in(provider, fake_provider, "op-session-1")  # signed in again, same provider session
    assert post(token).status_code == 200  # a retried delivery gets the same answer ...
    assert still_signed_in(again)  # ... and a replay ends nothing more


def test_l4_an_id_token_is_never_taken_for_a_logout_token(fake_provider, two_sessions):
    id_token = fake_provider.issue_tokens()["id_token"]  # signed by the same key, for the same client
    assert post(id_token).status_code == 400
    assert all(still_signed_in(browser) for browser in two_sessions)


def test_l6_answers_are_200_or_400_never_500(provider, fake_provider, two_sessions):
    assert Client().post(URL, {}).status_code == 400  # no logout_token at all
    assert Client().post("/client/unknown/backchannel-logout/", {"logout_token": "x"}).status_code == 400
    provider.enabled = False
    provider.save()
    assert post(logout_token(fake_provider)).status_code == 400
    assert Client().get(URL).status_code == 405


def _views(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_l6_the_receiver_is_the_only_csrf_exempt_view_of_client_app():
    exempt = [
        route
        for route, view in _views(get_resolver("client_app.urls"))
        if getattr(view, "csrf_exempt", False)
    ]
    assert exempt == ["<slug:slug>/backchannel-logout/"]
    # (every test here posts with enforce_csrf_checks=True, no CSRF cookie or token: it is exempt)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_l5_a_logout_token_with_sid_only_ends_that_session(fake_provider, two_sessions):
    assert post(logout_token(fake_provider, drop=["sub"], sid="op-session-2")).status_code == 200
    assert still_signed_in(two_sessions[0]) and not still_signed_in(two_sessions[1])


def test_l5_another_providers_sessions_are_not_touched(provider, fake_provider, two_sessions):
    from client_app.models import Provider

    other = Provider.objects.create(
        name="Other", slug="other", issuer="https://other-op.example.com", client_id=CLIENT_ID,
        client_secret="x" * 40, scopes="openid",
    )  # fmt: skip
    ProviderSession.objects.update(provider=other)  # as if both sessions began at the other provider
    assert post(logout_token(fake_provider)).status_code == 200
    assert all(still_signed_in(browser) for browser in two_sessions)


@pytest.mark.urls("tests.client_app.test_l4_l6_backchannel_logout")
def test_l5_a_session_whose_key_changed_after_the_login_is_still_ended(fake_provider, two_sessions):
    first, second = two_sessions
    before = first.session.session_key
    assert first.get("/test/password-changed/").status_code == 200
    assert first.session.session_key != before  # Django gave the session a new key
    assert post(logout_token(fake_provider, sid="op-session-1")).status_code == 200
    assert not still_signed_in(first) and still_signed_in(second)


def test_l5_signing_in_again_keeps_the_earlier_provider_session_findable(
    provider, fake_provider, two_sessions
):
    first, _ = two_sessions
    fake_provider.claims["sid"] = "op-session-3"
    response = Flow(first, provider, fake_provider).login()  # same user again: the key is cycled
    assert response.status_code == 302
    assert post(logout_token(fake_provider, sid="op-session-1")).status_code == 200
    assert not still_signed_in(first)


def test_l4_made_up_key_ids_cost_the_provider_one_key_fetch(fake_provider, two_sessions):
    jwks = f"{ISSUER}/jwks"
    before = sum(call.request.url == jwks for call in fake_provider.mock.calls)
    for n in range(5):
        key = jwk.JWK.generate(kty="RSA", size=2048, kid=f"made-up-{n}")
        assert post(logout_token(fake_provider, key=key, kid=f"made-up-{n}")).status_code == 400
    assert sum(call.request.url == jwks for call in fake_provider.mock.calls) - before <= 1


def test_l4_the_type_is_compared_as_a_media_type(fake_provider, two_sessions):
    assert post(logout_token(fake_provider, typ="Logout+JWT")).status_code == 200
