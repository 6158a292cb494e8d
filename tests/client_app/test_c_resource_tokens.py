"""Tokens for the services the site calls (RFC 8707) against provider_app on a live server.

``Provider.resources``: the login asks for the provider's own audience (its issuer, RFC 9068 3) and
each service; the login's token stays the provider's (UserInfo, /api/me); ``client_app.api`` gets a
service's token by a refresh with ``resource`` (RFC 8707 2.2), kept encrypted per token set.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import requests
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from client_app import api
from client_app.exceptions import ConfigurationError
from client_app.internal import token_store
from client_app.models import Provider, ResourceToken, SocialAccount, TokenSet
from provider_app.internal.tokens import digest
from tests.e2e import conftest as e2e
from tests.oauth_helpers import register_resource

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The live provider and client of tests/e2e (provider_app and client_app over real HTTP).
parties = e2e.parties
browser = e2e.browser

NOTES = "https://notes.example.com/"
FILES = "https://files.example.com/"


def _claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture
def with_notes(parties):
    register_resource(NOTES, parties.application, scopes="notes:read", token_format="jwt")
    Provider.objects.filter(pk=parties.provider.pk).update(
        resources=NOTES, scopes="openid profile email notes:read"
    )
    return parties


def _signed_in(browser):
    # Not the demo's profile page, which calls the notes service (oauthsite.views.DemoProfileView).
    page = browser.consent(browser.sign_in_at_provider(browser.start_login("/client/connections/")))
    assert page.status_code == 200, page.text[:300]
    return SocialAccount.objects.get().user


def test_c1_the_login_asks_for_the_issuer_and_each_resource(with_notes, browser):
    page = browser.session.get(f"{with_notes.client_origin}/client/", timeout=30)
    redirect = browser.submit(page, allow_redirects=False)
    location = redirect.headers["Location"]
    # Through the provider's login page, the authorization request carries both resources.
    assert "resource=" + requests.utils.quote(with_notes.issuer, safe="") in location
    assert "resource=" + requests.utils.quote(NOTES, safe="") in location


def test_c9_the_logins_token_is_the_providers_own(with_notes, browser):
    _signed_in(browser)
    token_set = TokenSet.objects.get()
    assert token_set.access_token.count(".") == 0  # opaque: the default audience
    stored = get_access_token_model().objects.get(application=with_notes.application)
    assert stored.resource == []
    me = requests.get(
        f"{with_notes.provider_origin}/api/me",
        headers={"Authorization": f"Bearer {token_set.access_token}"},
        timeout=30,
    )
    assert me.status_code == 200
    # The refresh token keeps the grant's resources (RFC 8707 2.2).
    refresh = get_refresh_token_model().objects.get(application=with_notes.application)
    assert refresh.resource == [with_notes.issuer, NOTES]


def test_c10_a_token_for_a_resource_by_refresh_and_kept(with_notes, browser):
    user = _signed_in(browser)
    before = TokenSet.objects.get()
    token = api.get_access_token(user, "demo", resource=NOTES)
    claims = _claims(token)
    assert claims["aud"] == NOTES and "notes:read" in claims["scope"].split()
    after = TokenSet.objects.get()
    assert after.refresh_token != before.refresh_token  # the rotated refresh token is saved
    assert after.version == before.version + 1
    assert after.expires_within(0)  # the provider revoked the previous pair with the rotation (P8)
    # Kept: a second call sends nothing to the provider.
    issued = get_refresh_token_model().objects.count()
    assert api.authorization_headers(user, "demo", resource=NOTES) == {"Authorization": f"Bearer {token}"}
    assert get_refresh_token_model().objects.count() == issued
    # The provider's own token comes back by an ordinary refresh (resource=<issuer>).
    response = api.authorized_session(user, "demo").get(f"{with_notes.provider_origin}/api/me")
    assert response.status_code == 200, response.text
    assert not ResourceToken.objects.exists()  # that refresh rotated the refresh token again
    assert _claims(api.get_access_token(user, "demo", resource=NOTES))["aud"] == NOTES


def test_c10_an_expiring_resource_token_is_replaced(with_notes, browser):
    user = _signed_in(browser)
    first = api.get_access_token(user, "demo", resource=NOTES)
    ResourceToken.objects.update(expires_at=timezone.now() + timedelta(seconds=1))
    second = api.get_access_token(user, "demo", resource=NOTES)
    assert second != first and ResourceToken.objects.get().access_token == second


def test_c10_a_request_that_waited_uses_the_resource_token_another_one_obtained(
    with_notes,
    browser,
):
    user = _signed_in(browser)
    stale = TokenSet.objects.get()  # request A read the set...
    token = api.get_access_token(user, "demo", resource=NOTES)  # ...request B got the notes token
    issued = get_refresh_token_model().objects.count()
    assert token_store.get_resource_token(stale, NOTES).access_token == token
    assert get_refresh_token_model().objects.count() == issued  # no used-up refresh token sent


def test_c8_resource_tokens_are_encrypted_at_rest_and_go_with_the_token_set(
    with_notes,
    browser,
    settings,
):
    user = _signed_in(browser)
    token = api.get_access_token(user, "demo", resource=NOTES)
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM client_app_resourcetoken")
        (stored,) = [row[0] for row in cursor.fetchall()]
    assert token not in stored
    assert Fernet(settings.CLIENT_APP_ENCRYPTION_KEYS[0].encode()).decrypt(stored.encode()).decode() == token
    TokenSet.objects.all().delete()  # logout, back-channel logout, a failed refresh
    assert not ResourceToken.objects.exists()


def test_c8_logout_forgets_the_resource_tokens(with_notes, browser):
    user = _signed_in(browser)
    token = api.get_access_token(user, "demo", resource=NOTES)
    logout_page = browser.session.get(f"{with_notes.client_origin}/client/logout/", timeout=30)
    browser.submit(logout_page, form_index=-1)
    assert not ResourceToken.objects.exists()
    # revoke_tokens_on_logout: revoked at the provider too.
    assert not get_access_token_model().objects.filter(token_checksum=digest(token)).exists()


def test_a_resource_the_provider_does_not_list_is_a_configuration_error(with_notes, browser):
    user = _signed_in(browser)
    with pytest.raises(ConfigurationError):
        api.get_access_token(user, "demo", resource=FILES)
    with pytest.raises(ConfigurationError):
        api.authorized_session(user, "demo", resource=FILES)


def test_without_resources_nothing_changes(parties, browser):
    user = _signed_in(browser)
    assert get_refresh_token_model().objects.get(application=parties.application).resource == []
    with pytest.raises(ConfigurationError):
        api.get_access_token(user, "demo", resource=NOTES)


def test_revoking_a_resource_token_at_the_provider(with_notes, browser):
    user = _signed_in(browser)
    token = api.get_access_token(user, "demo", resource=NOTES)
    assert api.revoke_access_token(user, "demo", NOTES) == token
    assert not ResourceToken.objects.exists()
    assert not get_access_token_model().objects.filter(token_checksum=digest(token)).exists()
    assert api.revoke_access_token(user, "demo", NOTES) == ""  # nothing kept any more
    with pytest.raises(ConfigurationError):
        api.revoke_access_token(user, "demo", FILES)


def test_c10_revoking_a_resource_token_forgets_the_refresh_token_revoked_with_it(with_notes, browser):
    """provider_app revokes the refresh token issued with the service token (its pair, P8): the
    client does not present it again, so no false refresh-token-reuse alarm, and asks for a login."""
    from client_app.exceptions import ReauthenticationRequired
    from provider_app.audit import REFRESH_TOKEN_REUSED
    from provider_app.models import AuditEvent

    user = _signed_in(browser)
    api.get_access_token(user, "demo", resource=NOTES)
    api.revoke_access_token(user, "demo", NOTES)
    assert TokenSet.objects.get(user=user).refresh_token == ""
    for _ in range(2):
        with pytest.raises(ReauthenticationRequired):
            api.get_access_token(user, "demo")
        with pytest.raises(ReauthenticationRequired):
            api.get_access_token(user, "demo", resource=NOTES)
    assert not AuditEvent.objects.filter(event=REFRESH_TOKEN_REUSED).exists()


def test_c10_a_resource_token_the_service_refuses_is_never_sent_again(with_notes, browser, monkeypatch):
    from client_app.exceptions import ReauthenticationRequired
    from provider_app.internal.tokens import revoke_access_tokens

    user = _signed_in(browser)
    revoked = api.get_access_token(user, "demo", resource=NOTES)
    # Revoked at the provider behind the client's back (an administrator): with its refresh token,
    # the one the client holds now (the pair, P8).
    revoke_access_tokens(get_access_token_model().objects.filter(token_checksum=digest(revoked)))
    sent = []

    def service(session, method, url, access_token, headers, *args, **kwargs):
        sent.append(access_token)
        answer = requests.Response()
        answer.status_code = 401  # RFC 6750 3.1: revoked before its expiry
        answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return answer

    monkeypatch.setattr(api.AuthorizedSession, "_send", service)
    session = api.authorized_session(user, "demo", resource=NOTES)
    with pytest.raises(ReauthenticationRequired):  # refused once; no new token without a new login
        session.get(NOTES)
    assert not ResourceToken.objects.exists()  # forgotten ...
    with pytest.raises(ReauthenticationRequired):
        session.get(NOTES)
    assert sent == [revoked]  # ... and never sent again
