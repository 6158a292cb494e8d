"""C6: accounts are linked by (issuer, sub); e-mail links only if verified and opted in; connect and
disconnect."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from client_app.models import SocialAccount
from tests.client_app.conftest import error_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def existing_user():
    return UserFactory(username="ada-local", email="ada@example.com")


def test_c6_same_email_does_not_link_by_default(flow, existing_user):
    flow.fake.userinfo = {"email_verified": True}
    flow.provider.trust_email_verified = True
    flow.provider.save()
    assert flow.login().status_code == 302
    account = SocialAccount.objects.get()
    assert account.user != existing_user  # a new local user, not the one with that e-mail
    assert get_user_model().objects.count() == 2


@override_settings(CLIENT_APP_LINK_BY_VERIFIED_EMAIL=True)
def test_c6_unverified_email_never_links(flow, existing_user):
    flow.provider.trust_email_verified = True
    flow.provider.save()
    flow.fake.userinfo = {"email_verified": False}
    flow.login()
    assert SocialAccount.objects.get().user != existing_user


@override_settings(CLIENT_APP_LINK_BY_VERIFIED_EMAIL=True)
def test_c6_verified_email_string_true_is_not_verified(flow, existing_user):
    flow.provider.trust_email_verified = True
    flow.provider.save()
    flow.fake.userinfo = {"email_verified": "true"}
    flow.login()
    assert SocialAccount.objects.get().user != existing_user


@override_settings(CLIENT_APP_LINK_BY_VERIFIED_EMAIL=True)
def test_c6_verified_email_needs_a_trusted_provider(flow, existing_user):
    flow.fake.userinfo = {"email_verified": True}
    flow.login()
    assert SocialAccount.objects.get().user != existing_user


@override_settings(
    CLIENT_APP_LINK_BY_VERIFIED_EMAIL=True,
    CLIENT_APP_ADAPTER="tests.client_app.adapters.VerifiesLocalEmailsAdapter",
)
def test_c6_verified_email_links_when_opted_in(flow, existing_user):
    flow.provider.trust_email_verified = True
    flow.provider.save()
    flow.fake.userinfo = {"email_verified": True}
    assert flow.login().status_code == 302
    assert SocialAccount.objects.get().user == existing_user


def test_c6_link_is_by_issuer_and_sub_not_by_username(flow, existing_user):
    flow.login()
    first_user = SocialAccount.objects.get().user
    flow.client.logout()
    flow.fake.sub = "another-subject"  # same claims otherwise, another identity
    flow.login()
    assert SocialAccount.objects.count() == 2
    assert SocialAccount.objects.get(sub="another-subject").user != first_user


def test_c6_connect_links_to_the_signed_in_user(flow, existing_user):
    flow.client.force_login(existing_user)
    params = flow.start(action="connect")
    response = flow.callback(params)
    assert response.status_code == 302, error_code(response)
    assert response["Location"] == "/client/connections/"
    assert SocialAccount.objects.get().user == existing_user


def test_c6_connect_refused_when_identity_belongs_to_another_user(flow, existing_user):
    flow.login()  # links user-123 to a new user
    flow.client.logout()
    flow.client.force_login(existing_user)
    response = flow.callback(flow.start(action="connect"))
    assert error_code(response) == "already_linked"
    assert SocialAccount.objects.get().user != existing_user


def test_c6_connect_needs_a_signed_in_user(flow):
    response = flow.client.post(f"/client/{flow.provider.slug}/connect/")
    assert response.status_code == 302
    assert response["Location"].startswith("/client/?next=")


def test_c6_signup_can_be_closed(flow):
    with override_settings(CLIENT_APP_SIGNUP_ENABLED=False):
        response = flow.login()
    assert error_code(response) == "signup_closed"
    assert get_user_model().objects.count() == 0


def test_c6_adapter_decides(flow, settings):
    settings.CLIENT_APP_ADAPTER = "tests.client_app.adapters.NoBobAdapter"
    flow.fake.userinfo = {"preferred_username": "bob"}
    assert error_code(flow.login()) == "no_bob"


def test_c6_adapter_maps_claims(flow, settings):
    settings.CLIENT_APP_ADAPTER = "tests.client_app.adapters.UpperCaseAdapter"
    flow.login()
    assert SocialAccount.objects.get().user.first_name == "ADA"


def test_c6_inactive_user_cannot_log_in(flow):
    flow.login()
    user = SocialAccount.objects.get().user
    user.is_active = False
    user.save()
    flow.client.logout()
    assert error_code(flow.login()) == "inactive_user"


def test_c6_disconnect_refused_for_the_last_way_to_log_in(flow):
    flow.login()
    account = SocialAccount.objects.get()
    response = flow.client.post(f"/client/connections/{account.pk}/disconnect/")
    assert response.status_code == 400
    assert error_code(response) == "last_login_method"
    assert SocialAccount.objects.filter(pk=account.pk).exists()


def test_c6_disconnect_allowed_with_a_password(flow):
    flow.login()
    account = SocialAccount.objects.get()
    account.user.set_password("a long enough password")
    account.user.save()
    flow.client.force_login(account.user)
    response = flow.client.post(f"/client/connections/{account.pk}/disconnect/")
    assert response.status_code == 302
    assert not SocialAccount.objects.exists()


def test_c6_cannot_disconnect_someone_elses_account(flow, existing_user):
    flow.login()
    account = SocialAccount.objects.get()
    flow.client.force_login(existing_user)
    assert flow.client.post(f"/client/connections/{account.pk}/disconnect/").status_code == 404


def test_connections_page_lists_accounts(flow):
    flow.login()
    page = flow.client.get("/client/connections/").content.decode()
    assert "Example OP" in page and "ada" in page


def test_c6_pre_login_refusal_leaves_nothing_behind(flow, settings):
    from client_app.models import TokenSet

    settings.CLIENT_APP_ADAPTER = "tests.client_app.adapters.NoLoginAdapter"
    response = flow.login()
    assert error_code(response) == "not_today"
    assert get_user_model().objects.count() == 0
    assert not SocialAccount.objects.exists() and not TokenSet.objects.exists()
    assert "_auth_user_id" not in flow.client.session


def test_new_login_voids_a_running_refresh_claim(flow):
    from django.utils import timezone

    from client_app.models import TokenSet

    flow.login()
    TokenSet.objects.update(refresh_claim="someone", refresh_claimed_until=timezone.now())
    flow.client.logout()
    flow.login()
    assert TokenSet.objects.get().refresh_claim == ""
