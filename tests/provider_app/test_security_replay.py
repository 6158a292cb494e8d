"""P5: authorization codes are single-use, replay revokes what they issued, races never give a 5xx."""

from __future__ import annotations

import pytest
from oauth2_provider.models import get_access_token_model

from tests.oauth_helpers import AuthorizationRequest, exchange, get_code
from tests.provider_app.security_helpers import require_postgresql, parallel

RACERS = 16


def _code(client, user, application) -> tuple[AuthorizationRequest, str]:
    client.force_login(user)
    request = AuthorizationRequest(application.client_id, application.redirect_uris)
    return request, get_code(client, request)


def _token_form(application, request: AuthorizationRequest, code: str) -> dict:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        "client_id": application.client_id,
        "client_secret": application.raw_secret,
        "code_verifier": request.code_verifier,
    }


@pytest.mark.postgres
def test_p5_concurrent_code_redemptions_one_success_others_invalid_grant(live_server, client, user, application):
    require_postgresql()
    request, code = _code(client, user, application)
    form = _token_form(application, request, code)
    url = live_server.url + "/o/token/"
    responses = parallel(RACERS, lambda session: session.post(url, data=form, timeout=60))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * (RACERS - 1), statuses
    for response in responses:
        if response.status_code == 400:
            assert response.json()["error"] == "invalid_grant"
