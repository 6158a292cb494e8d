"""Back-channel logout end to end over real HTTP: signing out at provider_app ends the browser's
session at client_app (its receiver validates the logout token against the provider's JWKS)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from client_app.models import ProviderSession, SeenLogoutToken
from provider_app.internal import outbox
from provider_app.models import ClientPolicy, OutboundDelivery

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in_at_client(browser) -> bool:
    page = browser.session.get(
        f"{browser.parties.client_origin}/client/profile/", allow_redirects=False, timeout=30
    )
    return page.status_code == 200


@pytest.fixture
def registered(parties):
    ClientPolicy.objects.create(
        application=parties.application,
        backchannel_logout_uri=f"{parties.client_origin}/client/demo/backchannel-logout/",
        backchannel_logout_session_required=True,
    )
    return parties


def test_l3_signing_out_at_the_provider_ends_the_session_at_the_client(browser, registered):
    assert browser.full_login().status_code == 200
    assert signed_in_at_client(browser)
    [provider_session] = ProviderSession.objects.all()
    assert provider_session.sid  # the ID token's sid, recorded by the client at login
    # The user signs out at the provider (RP-initiated logout page, "Logout" pressed).
    confirm = browser.session.get(f"{registered.provider_origin}/o/logout/", timeout=30)
    browser.submit(confirm, button="allow")
    [delivery] = OutboundDelivery.objects.all()
    assert delivery.state == OutboundDelivery.PENDING  # L7: the logout request sent nothing
    assert signed_in_at_client(browser)
    call_command("provider_app_deliver", stdout=open("/dev/null", "w"))  # noqa: SIM115 (the worker's step)
    delivery.refresh_from_db()
    assert delivery.state == OutboundDelivery.DELIVERED, delivery.last_error
    assert not signed_in_at_client(browser)
    assert not ProviderSession.objects.exists()
    assert SeenLogoutToken.objects.count() == 1
    # L8: a retry of the same message (a lost answer) is harmless: the client answers 200, once.
    OutboundDelivery.objects.filter(pk=delivery.pk).update(state=OutboundDelivery.PENDING)
    assert outbox.deliver(delivery.pk) == OutboundDelivery.DELIVERED
    assert SeenLogoutToken.objects.count() == 1
