import pytest

from tests.oauth_helpers import AuthorizationRequest, exchange, get_code

pytestmark = pytest.mark.django_db


def test_code_flow_issues_tokens(client, user, application):
    client.force_login(user)
    request = AuthorizationRequest(application.client_id, application.redirect_uris)
    code = get_code(client, request)
    response = exchange(client, application, request, code)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"access_token", "refresh_token", "id_token"} <= body.keys()
    me = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200
    assert me.json()["preferred_username"] == user.username
