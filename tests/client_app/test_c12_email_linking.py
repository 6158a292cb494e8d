"""C12: e-mail linking (opt-in) links a verified provider address only to a local user whose own
address is known to be verified, comparing normalised addresses exactly."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from client_app.adapter import normalise_email
from client_app.models import Provider, SocialAccount
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trusted")]

LOCAL_VERIFIED = "tests.client_app.adapters.VerifiesLocalEmailsAdapter"


@pytest.fixture
def trusted(flow, settings):
    settings.CLIENT_APP_LINK_BY_VERIFIED_EMAIL = True
    flow.provider.trust_email_verified = True
    flow.provider.save()


def _login_as(flow, sub: str, email: str, verified: bool):
    flow.client.logout()
    flow.fake.sub = sub
    flow.fake.userinfo = {"email": email, "email_verified": verified}
    response = flow.login()
    assert response.status_code == 302, response.content[:300]
    return SocialAccount.objects.get(sub=sub).user


def test_c12_pre_account_hijack_an_unverified_sign_up_never_attracts_the_victims_login(flow):
    attacker = _login_as(flow, "attacker", "victim@example.com", verified=False)
    assert attacker.email == "victim@example.com"  # copied as information only
    victim = _login_as(flow, "victim", "victim@example.com", verified=True)
    assert victim != attacker
    assert get_user_model().objects.count() == 2


def test_c12_links_to_a_user_whose_address_a_trusted_provider_verified(flow):
    other = Provider.objects.create(
        name="Other OP",
        slug="other",
        issuer="https://other.example",
        client_id="x",
        trust_email_verified=True,
    )
    existing = UserFactory(email="ada@example.com")
    SocialAccount.objects.create(
        user=existing,
        provider=other,
        issuer=other.issuer,
        sub="ada-at-other",
        claims={"email": "ada@example.com", "email_verified": True},
    )
    assert _login_as(flow, "ada-here", "ada@example.com", verified=True) == existing


def test_c12_a_typed_address_is_not_a_verified_one(flow):
    UserFactory(email="ada@example.com")  # an address nobody confirmed
    linked = _login_as(flow, "ada-here", "ada@example.com", verified=True)
    assert linked.email == "ada@example.com" and get_user_model().objects.count() == 2


@override_settings(CLIENT_APP_ADAPTER=LOCAL_VERIFIED)
def test_c12_a_site_that_verifies_addresses_itself_says_so_through_the_adapter(flow):
    existing = UserFactory(email="Ada@Example.COM")
    assert _login_as(flow, "ada-here", "ada@example.com", verified=True) == existing


@override_settings(CLIENT_APP_ADAPTER=LOCAL_VERIFIED)
def test_c12_no_unicode_case_folding_dotless_i(flow):
    # On PostgreSQL email__iexact is UPPER(a) = UPPER(b), and UPPER("ı") is "I".
    UserFactory(email="victim@gıthub.com")
    linked = _login_as(flow, "attacker", "victim@github.com", verified=True)
    assert linked.email == "victim@github.com"
    assert get_user_model().objects.count() == 2


@override_settings(CLIENT_APP_ADAPTER=LOCAL_VERIFIED)
def test_c12_two_users_with_the_address_link_to_neither(flow):
    UserFactory(email="ada@example.com")
    UserFactory(email="ADA@example.com")
    _login_as(flow, "ada-here", "ada@example.com", verified=True)
    assert get_user_model().objects.count() == 3


def test_c12_normalise_email_lowercases_ascii_only():
    assert normalise_email(" Ada@Example.COM ") == "ada@example.com"
    assert normalise_email("victim@gıthub.com") != normalise_email("victim@github.com")
    assert normalise_email("VICTİM@github.com") != normalise_email("victim@github.com")
    assert normalise_email("no-at-sign") is None
    assert normalise_email("@example.com") is None
    assert normalise_email(None) is None
