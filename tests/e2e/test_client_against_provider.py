"""client_app against provider_app over real HTTP on a live server: the two parties of the demo."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from client_app import api
from client_app.exceptions import ReauthenticationRequired
from client_app.models import Provider, SocialAccount, TokenSet
from tests.browser import forms_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def client_session_user(browser) -> str:
    page = browser.session.get(f"{browser.parties.client_origin}/client/connections/", timeout=30)
    return page.text


def test_full_flow_signs_in_and_shows_the_profile_from_the_api(browser, parties):
    login_page = browser.start_login()
    assert login_page.url.startswith(f"{parties.provider_origin}/account/login/")
    consent_page = browser.sign_in_at_provider(login_page)
    assert "E2E client" in consent_page.text
    profile = browser.consent(consent_page)
    assert profile.status_code == 200, profile.text[:500]
    assert profile.url == f"{parties.client_origin}/client/profile/"
    # The demo's profile page: UserInfo and /api/me, fetched server-side with the stored token.
    assert "alice-e2e" in profile.text
    assert 'id="api-me"' in profile.text and "Alice Example" in profile.text
    account = SocialAccount.objects.get()
    assert account.issuer == parties.issuer
    assert account.sub == str(parties.user.pk)
    assert account.user != parties.user  # the client's own user, linked by (issuer, sub)
    # Two separate sessions: the client's cookie is not the provider's.
    cookies = {(cookie.domain, cookie.name) for cookie in browser.session.cookies}
    assert ("127.0.0.1", "sessionid") in cookies or ("127.0.0.1.local", "sessionid") in cookies
    assert any(domain.startswith("localhost") for domain, name in cookies if name == "sessionid")
    token_set = TokenSet.objects.get()
    for value in (token_set.access_token, token_set.refresh_token, token_set.id_token):
        assert value not in profile.text
        assert all(value not in cookie.value for cookie in browser.session.cookies)


def test_second_login_skips_consent_and_reuses_the_link(browser, parties):
    browser.full_login()
    logout_page = browser.session.get(f"{parties.client_origin}/client/logout/", timeout=30)
    browser.submit(logout_page, form_index=-1, allow_redirects=False)
    response = browser.start_login()  # still signed in at the provider: consent remembered
    assert response.url == f"{parties.client_origin}/client/profile/", response.url
    assert SocialAccount.objects.count() == 1


def test_refresh_over_http_and_api_call(browser, parties):
    browser.full_login()
    user = SocialAccount.objects.get().user
    old = TokenSet.objects.get()
    TokenSet.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.authorized_session(user, "demo").get(f"{parties.provider_origin}/api/me")
    assert response.status_code == 200
    assert response.json()["preferred_username"] == parties.user.username
    new = TokenSet.objects.get()
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token  # the provider rotates refresh tokens
    assert new.version == old.version + 1
    # The old refresh token is used up at the provider: sending it again is refused.
    reuse = requests.post(
        f"{parties.issuer}/token/",
        data={"grant_type": "refresh_token", "refresh_token": old.refresh_token},
        auth=(parties.application.client_id, parties.application.raw_secret),
        timeout=30,
    )
    assert reuse.status_code == 400


def test_revoked_tokens_raise_reauthentication_required(browser, parties):
    browser.full_login()
    user = SocialAccount.objects.get().user
    token_set = TokenSet.objects.get()
    revoked = requests.post(
        f"{parties.issuer}/revoke_token/",
        data={"token": token_set.refresh_token, "token_type_hint": "refresh_token"},
        auth=(parties.application.client_id, parties.application.raw_secret),
        timeout=30,
    )
    assert revoked.status_code == 200
    TokenSet.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ReauthenticationRequired):
        api.get_access_token(user, "demo")
    assert not TokenSet.objects.exists()


def test_logout_here_and_at_the_provider_and_revocation(browser, parties):
    browser.full_login()
    access_token = TokenSet.objects.get().access_token
    logout_page = browser.session.get(f"{parties.client_origin}/client/logout/", timeout=30)
    confirm = browser.submit(logout_page, form_index=-1)
    assert confirm.url.startswith(f"{parties.issuer}/logout/"), confirm.url
    assert "id_token_hint" not in confirm.url
    done = browser.submit(confirm, button="allow")
    assert done.url == f"{parties.client_origin}/client/logged-out/"
    # Signed out on both sides, tokens revoked at the provider and forgotten by the client.
    assert browser.session.get(f"{parties.client_origin}/client/profile/", timeout=30).url.startswith(
        f"{parties.client_origin}/client/?next="
    )
    again = browser.start_login()
    assert again.url.startswith(f"{parties.provider_origin}/account/login/")
    assert not TokenSet.objects.exists()
    assert not get_access_token_model().objects.filter(token=access_token).exists()
    me = requests.get(
        f"{parties.provider_origin}/api/me", headers={"Authorization": f"Bearer {access_token}"}
    )
    assert me.status_code == 401


def test_access_denied_ends_on_a_clear_page(browser, parties):
    consent_page = browser.sign_in_at_provider(browser.start_login())
    denied = browser.consent(consent_page, allow=False)
    assert denied.url.startswith(f"{parties.client_origin}/client/demo/callback/")
    assert denied.status_code == 400
    assert "access_denied" in denied.text and "You did not allow the sign-in" in denied.text
    assert not SocialAccount.objects.exists()


def test_wrong_client_secret_ends_on_a_clear_page(browser, parties):
    Provider.objects.filter(pk=parties.provider.pk).update(client_secret="")
    provider = Provider.objects.get()
    provider.client_secret = "not-the-secret-" + "w" * 40
    provider.save()
    response = browser.full_login()
    assert response.status_code == 502
    assert "invalid_client" in response.text
    assert not SocialAccount.objects.exists()


def test_replayed_callback_is_refused(browser, parties):
    consent_page = browser.sign_in_at_provider(browser.start_login())
    redirect = browser.submit(consent_page, button="allow", allow_redirects=False)
    callback_url = redirect.headers["Location"]
    assert parse_qs(urlsplit(callback_url).query)["iss"] == [parties.issuer]  # RFC 9207 from provider_app
    assert browser.session.get(callback_url, timeout=30).url == f"{parties.client_origin}/client/profile/"
    replay = browser.session.get(callback_url, timeout=30)
    assert replay.status_code == 400 and "invalid_state" in replay.text


def test_provider_unreachable_ends_on_a_clear_page(browser, parties):
    Provider.objects.filter(pk=parties.provider.pk).update(issuer="http://127.0.0.1:9/o")
    page = browser.session.get(f"{parties.client_origin}/client/", timeout=30)
    response = browser.submit(page)
    assert response.status_code == 502
    assert "network_error" in response.text


def test_logout_with_id_token_hint_is_accepted_by_the_provider(browser, parties):
    Provider.objects.filter(pk=parties.provider.pk).update(logout_send_id_token_hint=True)
    browser.full_login()
    logout_page = browser.session.get(f"{parties.client_origin}/client/logout/", timeout=30)
    confirm = browser.submit(logout_page, form_index=-1)
    assert "id_token_hint=" in confirm.url
    assert confirm.status_code == 200 and forms_of(confirm.text), confirm.text[:300]
    done = browser.submit(confirm, button="allow")
    assert done.url == f"{parties.client_origin}/client/logged-out/"


def test_profile_page_after_the_provider_revoked_everything_is_not_a_500(browser, parties):
    browser.full_login()
    token_set = TokenSet.objects.get()
    requests.post(
        f"{parties.issuer}/revoke_token/",
        data={"token": token_set.refresh_token, "token_type_hint": "refresh_token"},
        auth=(parties.application.client_id, parties.application.raw_secret),
        timeout=30,
    )
    page = browser.session.get(f"{parties.client_origin}/client/profile/", timeout=30)
    assert page.status_code == 200
    assert 'class="error"' in page.text  # UserInfo and /api/me refused, said so on the page
    assert "Alice Example" not in page.text.split('id="api-me"')[1]
