"""P22 / RFC 7662 4 / RFC 8707: a resource server learns from introspection only about the tokens of
its own audiences (``ClientPolicy.resource_identifiers``), never about tokens meant for others."""

from __future__ import annotations

import pytest

from provider_app.models import ClientPolicy
from tests.factories import ApplicationFactory
from tests.oauth_helpers import introspect, issue_tokens, register_resource

pytestmark = pytest.mark.django_db

API_A = "https://api-a.example.com/"
API_B = "https://api-b.example.com/"


def _token(client, user, application, resource: str | None = None) -> str:
    if resource:
        register_resource(resource, application)
    return issue_tokens(client, user, application, logout=True, resource=resource)["access_token"]


def _resource_server(identifiers: str, *, flagged: bool = True):
    application = ApplicationFactory(authorization_grant_type="client-credentials")
    ClientPolicy.objects.create(
        application=application, is_resource_server=flagged, resource_identifiers=identifiers
    )
    return application


def _introspect(client, caller, token: str) -> dict:
    response = introspect(client, caller, token)
    assert response.status_code == 200, response.content
    return response.json()


def test_p22_a_resource_server_does_not_see_a_token_for_another_audience(client, user, application):
    token = _token(client, user, application, resource=API_A)
    body = _introspect(client, _resource_server(API_B), token)
    assert body == {"active": False}
    assert "username" not in body and "sub" not in body


def test_p22_a_resource_server_sees_a_token_for_its_own_audience(client, user, application):
    token = _token(client, user, application, resource=API_A)
    body = _introspect(client, _resource_server(f"{API_B}\n{API_A}"), token)
    assert body["active"] is True
    assert body["aud"] == [API_A]
    assert body["sub"] == str(user.pk)


def test_p22_a_resource_server_without_identifiers_sees_no_other_clients_token(client, user, application):
    token = _token(client, user, application)
    assert _introspect(client, _resource_server(""), token) == {"active": False}
    # The flag alone was enough before: now the audience decides.
    assert _introspect(client, _resource_server(API_A), token) == {"active": False}


def test_p22_a_token_without_resource_is_for_the_default_audience(client, settings, user, application):
    token = _token(client, user, application)
    assert _introspect(client, _resource_server("http://testserver/o"), token)["active"] is True
    settings.PROVIDER_APP_DEFAULT_AUDIENCE = API_B
    assert _introspect(client, _resource_server("http://testserver/o"), token) == {"active": False}
    assert _introspect(client, _resource_server(API_B), token)["active"] is True


def test_p22_identifiers_count_only_when_flagged_as_resource_server(client, user, application):
    token = _token(client, user, application, resource=API_A)
    assert _introspect(client, _resource_server(API_A, flagged=False), token) == {"active": False}


def test_p22_the_client_that_holds_the_token_still_sees_it(client, user, application):
    token = _token(client, user, application, resource=API_A)
    assert _introspect(client, application, token)["active"] is True
