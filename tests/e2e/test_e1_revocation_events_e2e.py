"""E1 and E3 end to end: a resource_app service (its views and its revocation-event receiver served by
the live server beside the provider, tests/e2e/events_urls.py) accepts a JWT access token; the token is
revoked at the provider's revocation endpoint; once the outbox delivers the Security Event Token, the
service refuses it (401 invalid_token), on every worker."""

from __future__ import annotations

import pytest
import requests
from django.test import Client, override_settings

from provider_app.internal import outbox
from provider_app.models import OutboundDelivery
from resource_app.exceptions import InvalidToken
from resource_app.internal.deny_list import DenyList, deny_list
from resource_app.internal.jwt_access_tokens import _verified as verified_tokens
from resource_app.validation import validate_token
from tests.e2e.conftest import client_credentials_token
from tests.factories import ApplicationFactory
from tests.oauth_helpers import basic_auth, register_resource

pytestmark = pytest.mark.e2e

NOTES = "https://notes.example.com/"


@pytest.fixture
def service(provider_issuer, live_server):
    """A resource_app service in JWT mode, served by the live server beside the provider
    (``service/notes/``, its receiver at ``service/events/``), registered with its events URI."""
    port = live_server.url.rsplit(":", 1)[1]
    origin = f"http://127.0.0.1:{port}"
    caller = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    register_resource(
        NOTES, caller, scopes="notes:read", token_format="jwt", events_uri=f"{origin}/service/events/"
    )
    settings = {
        "ROOT_URLCONF": "tests.e2e.events_urls",
        "RESOURCE_APP_ISSUER": provider_issuer,
        "RESOURCE_APP_AUDIENCE": NOTES,
        "RESOURCE_APP_MODE": "jwt",
        "RESOURCE_APP_DENY_LIST": True,
    }
    deny_list.forget()
    verified_tokens.forget()
    with override_settings(**settings):
        yield caller, f"{origin}/service/notes/"
    deny_list.forget()
    verified_tokens.forget()


def _call(url: str, token: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_e1_a_token_revoked_at_the_provider_is_refused_by_the_service(provider_issuer, service):
    caller, notes_url = service
    token = client_credentials_token(provider_issuer, caller, NOTES)
    assert _call(notes_url, token).status_code == 200
    response = requests.post(
        f"{provider_issuer}/revoke_token/",
        data={"token": token},
        auth=(caller.client_id, caller.raw_secret),
        timeout=10,
    )
    assert response.status_code == 200
    assert _call(notes_url, token).status_code == 200  # nothing sent in the request (L7, E4)
    [delivery] = OutboundDelivery.objects.filter(kind=OutboundDelivery.SECURITY_EVENT)
    assert outbox.deliver(delivery.pk) == OutboundDelivery.DELIVERED  # the service answered 202
    refused = _call(notes_url, token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_e3_every_worker_of_the_service_refuses_the_revoked_token(provider_issuer, service, settings):
    """Another worker of the service (its own deny-list copy over the shared database) refuses too."""
    caller, _notes_url = service
    settings.RESOURCE_APP_DENY_LIST_SYNC_SECONDS = 0.5
    token = client_credentials_token(provider_issuer, caller, NOTES)
    clock = [1000.0]  # the other worker's monotonic clock, moved by the test (no timed assertion)
    other_worker = DenyList(clock=lambda: clock[0])
    accepted = validate_token(token)
    other_worker.check(accepted)  # its first look: nothing revoked
    response = Client().post(
        "/o/revoke_token/",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(caller.client_id, caller.raw_secret),
    )
    assert response.status_code == 200
    assert outbox.deliver_due() == 1
    clock[0] += settings.RESOURCE_APP_DENY_LIST_SYNC_SECONDS  # its next look, one interval later
    with pytest.raises(InvalidToken):
        other_worker.check(accepted)
    with pytest.raises(InvalidToken):  # and this worker, which received the event
        validate_token(token)
