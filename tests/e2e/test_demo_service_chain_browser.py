"""Issue 14 in a real browser: the demo's profile page shows the chain of the demo's services, and
the revoke button shows what each validation mode does with a revoked token.

provider_app and client_app on the live server (as in test_demo_browser.py), the notes service
(JWT) and the files service (introspection) as processes running services/ (as in
test_service_chain.py), registered as the demo registers them (oauthsite.demo.seed_services).
"""

from __future__ import annotations

import contextlib
import threading

import pytest

from client_app.models import Provider, ResourceToken
from oauthsite import views
from tests.e2e.test_demo_browser import chromium_page, sign_in_through_the_client
from tests.e2e.test_service_chain import Service, allow_exchange, services_running
from tests.factories import ApplicationFactory
from tests.oauth_helpers import register_resource

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_services(parties, provider_issuer):
    """notes (JWT, understands notes:read files:read) and files (introspection), each with its own
    client; the demo client may ask for notes tokens; notes may exchange them for files tokens."""
    notes = Service("notes", "services.notes.settings", "jwt", "notes:read files:read", "notes:read", "jwt")
    files = Service("files", "services.files.settings", "introspection", "files:read", "files:read", "opaque")
    for service in (notes, files):
        service.client = ApplicationFactory(
            name=f"{service.name} service", authorization_grant_type="client-credentials", redirect_uris=""
        )
        callers = [parties.application] if service is notes else []
        register_resource(
            service.audience, *callers, scopes=service.scopes, token_format=service.token_format,
            client=service.client, events_uri=f"{service.audience}events/",
        )  # fmt: skip
    allow_exchange(notes.client, source=notes.audience, targets=[files.audience])
    # What seed_demo sets on the client side: the demo client's resources and scopes.
    Provider.objects.filter(pk=parties.provider.pk).update(
        resources=notes.audience, scopes="openid profile email notes:read files:read"
    )
    with services_running(provider_issuer, [(notes, files), (files, None)]):
        yield notes, files


@contextlib.contextmanager
def task_worker(start: threading.Event):
    """What ``manage.py db_worker`` does beside the demo: the provider's outbox delivered (here a
    thread of the test process, on the test database), every 50 ms, once ``start`` is set."""
    from django.db import connection

    from provider_app.internal import outbox

    stop = threading.Event()

    def work():
        try:
            while not (start.is_set() or stop.is_set()):
                stop.wait(0.01)
            while not stop.is_set():
                outbox.deliver_due()
                stop.wait(0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def _row(page, table: str, service: str) -> dict[str, str]:
    row = f"{table} tr[data-service={service}]"
    return {name: page.inner_text(f"{row} td.{name}") for name in ("mode", "aud", "scope", "act")}


def test_the_profile_page_shows_the_chain_and_a_revocation_in_each_mode(parties, demo_services, monkeypatch):
    notes, files = demo_services
    with chromium_page(monkeypatch) as page:
        sign_in_through_the_client(page, parties)
        assert "Alice Example" in page.inner_text("#api-me")  # the login's token stays the provider's
        page.wait_for_selector("#chain")
        seen_by_notes, seen_by_files = _row(page, "#chain", "notes"), _row(page, "#chain", "files")
        # The token the page's revoke button revokes is the one notes saw.
        revoked = ResourceToken.objects.get().access_token
        # The page calls the chain at once after the revocation; the worker delivers the
        # revocation event to notes only after that first call (as the demo's worker, polling,
        # nearly always does; when its event wins the race, notes refuses at once and the page
        # shows that instead: see test_an_event_faster_than_the_first_call_is_shown).
        first_call_done = threading.Event()
        original = views._get_with

        def get_with(audience, token):
            try:
                return original(audience, token)
            finally:
                first_call_done.set()

        monkeypatch.setattr(views, "_get_with", get_with)
        with task_worker(first_call_done), page.expect_navigation():
            page.click("button#revoke")
        after = page.inner_text("#revocation")
        verdicts = {
            service: page.inner_text(f"#after-revocation tr[data-service={service}] td.verdict")
            for service in ("notes", "files")
        }
    assert (seen_by_notes["mode"], seen_by_notes["aud"], seen_by_notes["act"]) == (
        "jwt",
        notes.audience,
        "none",
    )
    assert {"notes:read", "files:read"} <= set(seen_by_notes["scope"].split())
    assert seen_by_files["mode"] == "introspection" and seen_by_files["aud"] == files.audience
    assert seen_by_files["act"] == notes.client.client_id and seen_by_files["scope"] == "files:read"
    # At once: JWT mode still accepts the self-contained token; introspection refuses (X7) ...
    assert verdicts["notes"].startswith("accepted the token")
    assert "refused" in verdicts["files"], verdicts["files"]
    # ... and JWT mode refuses as soon as the provider's revocation event reached notes (E1, E3).
    assert "notes (JWT mode) refused the token" in after, after
    refused_ms = float(after.split("refused the token ")[1].split(" ms")[0])
    assert refused_ms > 0
    assert not ResourceToken.objects.exists()  # forgotten by the client
    assert revoked not in after


def test_a_service_that_is_down_is_named_with_how_to_start_it(parties, browser):
    from tests.processes import free_port

    notes = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    register_resource(notes, parties.application, scopes="notes:read", token_format="jwt")
    Provider.objects.filter(pk=parties.provider.pk).update(resources=notes, scopes="openid notes:read")
    profile = browser.full_login()
    assert profile.status_code == 200
    assert f"does not answer at {notes}" in profile.text and "python dev.py demo" in profile.text


def test_the_revoke_button_needs_the_csrf_token_and_a_signed_in_user(parties, browser):
    import requests

    profile_url = f"{parties.client_origin}/client/profile/"
    anonymous = requests.post(profile_url, timeout=30, allow_redirects=False)
    assert anonymous.status_code == 403  # CSRF first
    browser.full_login()
    forged = browser.session.post(profile_url, timeout=30, headers={"Origin": parties.client_origin})
    assert forged.status_code == 403
    # With the page's form (its CSRF token) but nothing kept to revoke: a clear message, no 500.
    page = browser.session.get(profile_url, timeout=30)
    submitted = browser.session.post(
        profile_url,
        data={"csrfmiddlewaretoken": browser.session.cookies.get("csrftoken", domain="127.0.0.1")},
        headers={"Origin": parties.client_origin, "Referer": profile_url},
        timeout=30,
    )
    assert page.status_code == 200 and submitted.status_code == 200
    assert 'id="revocation"' in submitted.text and 'class="error"' in submitted.text
