"""The demo's happy path in a real headless browser: Debian's chromium driven by playwright.

CI installs chromium (``.ci/run``); there a missing browser fails this test. Elsewhere it is
skipped with the reason shown.
"""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command

from client_app.models import SocialAccount, TokenSet
from provider_app.models import ClientPolicy, OutboundDelivery
from tests.factories import USER_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing(reason: str) -> None:
    """Fail under CI (which installs everything), skip with the reason elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


def require_chromium():
    """playwright's sync API, once Debian's chromium and PyPI's playwright are both there."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (requirements-dev.txt)")
    return sync_playwright


def sign_in_through_the_client(page, parties) -> None:
    """From the client's home page to its profile page: the provider's login and consent."""
    # The client's home: the demo's page on the client host leads to the sign-in page.
    page.goto(f"{parties.client_origin}/")
    page.click("a#start")
    assert page.url.startswith(f"{parties.client_origin}/client/")
    page.click("button[data-provider=demo]")
    # The provider's login page, on the other host name. Its forms are POSTed under
    # Referrer-Policy: no-referrer (Origin: null), which only a real browser shows.
    page.wait_for_url(f"{parties.provider_origin}/account/login/**")
    page.fill("input[name=username]", parties.user.username)
    page.fill("input[name=password]", USER_PASSWORD)
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    assert navigation.value.status == 200, navigation.value.status
    # Consent, then back on the client, signed in, on the profile page.
    page.wait_for_selector("button[name=allow]")
    assert "E2E client" in page.content()
    page.click("button[name=allow]")
    page.wait_for_url(f"{parties.client_origin}/client/profile/")


@contextmanager
def chromium_page(monkeypatch):
    """A page of a fresh headless chromium profile."""
    sync_playwright = require_chromium()
    # Playwright's sync API keeps an event loop in this thread; the ORM calls below run outside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile_dir,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile_dir, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()


def test_demo_happy_path_in_chromium(parties, monkeypatch):
    with chromium_page(monkeypatch) as page:
        sign_in_through_the_client(page, parties)
        signed_in_as = page.inner_text("#client-user")
        api_me = page.inner_text("#api-me")
        cookies = page.context.cookies()
    assert "Alice Example" in api_me and parties.user.username in api_me
    account = SocialAccount.objects.get()
    assert signed_in_as == account.user.get_username()
    hosts_with_session = {cookie["domain"] for cookie in cookies if cookie["name"] == "sessionid"}
    assert hosts_with_session == {"localhost", "127.0.0.1"}
    token_set = TokenSet.objects.get()
    assert all(token_set.access_token not in cookie["value"] for cookie in cookies)


def test_l3_signing_out_at_the_provider_signs_the_browser_out_of_the_client(parties, monkeypatch):
    """OIDC Back-Channel Logout in the demo's shape: the worker's step delivers the logout token."""
    ClientPolicy.objects.create(
        application=parties.application,
        backchannel_logout_uri=f"{parties.client_origin}/client/demo/backchannel-logout/",
    )
    with chromium_page(monkeypatch) as page:
        sign_in_through_the_client(page, parties)
        page.goto(f"{parties.provider_origin}/o/logout/")  # the provider's sign-out page
        page.click("button[name=allow]")
        call_command("provider_app_deliver", stdout=io.StringIO())  # what db_worker does
        assert OutboundDelivery.objects.get().state == OutboundDelivery.DELIVERED
        response = page.goto(f"{parties.client_origin}/client/profile/")
        assert not page.url.startswith(f"{parties.client_origin}/client/profile/"), page.url
        assert response.status == 200
    assert not TokenSet.objects.exists()  # the client also forgot the user's tokens
