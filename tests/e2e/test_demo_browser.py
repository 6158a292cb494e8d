"""The demo's happy path in a real headless browser: Debian's chromium driven by playwright.

CI installs chromium (``.ci/run``); there a missing browser fails this test. Elsewhere it is
skipped with the reason shown.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from client_app.models import SocialAccount, TokenSet
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


PROVIDER_ORIGIN_NULL_BUG = (
    "provider_app's sign-in page sends Referrer-Policy: no-referrer, so Chromium POSTs it with "
    "Origin: null and Django's CSRF check answers 403"
)


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


def test_demo_happy_path_in_chromium(parties, monkeypatch):
    require_chromium()
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
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
            # The client's home: the demo's page on the client host leads to the sign-in page.
            page.goto(f"{parties.client_origin}/")
            page.click("a#start")
            assert page.url.startswith(f"{parties.client_origin}/client/")
            with page.expect_navigation() as navigation:
                page.click("button[data-provider=demo]")
            # The provider's login page, on the other host name.
            page.wait_for_url(f"{parties.provider_origin}/account/login/**")
            login_page_policy = navigation.value.headers.get("referrer-policy", "")
            page.fill("input[name=username]", parties.user.username)
            page.fill("input[name=password]", USER_PASSWORD)
            with page.expect_navigation() as navigation:
                page.click("button[type=submit]")
            if navigation.value.status == 403 and login_page_policy == "no-referrer":
                # Known provider_app bug, reported: under "Referrer-Policy: no-referrer" browsers
                # send "Origin: null" with a same-origin POST (Fetch standard), and Django's CSRF
                # check refuses it, so nobody can sign in at the provider in a real browser. Any
                # other failure of this test still fails it.
                pytest.xfail(PROVIDER_ORIGIN_NULL_BUG)
            # Consent, then back on the client, signed in, on the profile page.
            page.wait_for_selector("button[name=allow]")
            assert "E2E client" in page.content()
            page.click("button[name=allow]")
            page.wait_for_url(f"{parties.client_origin}/client/profile/")
            signed_in_as = page.inner_text("#client-user")
            api_me = page.inner_text("#api-me")
            cookies = context.cookies()
        finally:
            context.close()
    assert "Alice Example" in api_me and parties.user.username in api_me
    account = SocialAccount.objects.get()
    assert signed_in_as == account.user.get_username()
    hosts_with_session = {cookie["domain"] for cookie in cookies if cookie["name"] == "sessionid"}
    assert hosts_with_session == {"localhost", "127.0.0.1"}
    token_set = TokenSet.objects.get()
    assert all(token_set.access_token not in cookie["value"] for cookie in cookies)
