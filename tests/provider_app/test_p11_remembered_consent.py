"""P11: consent is given by the user on the consent page; the only automatic approval is a consent
the user gave and still has (remembered consent), and it keeps every parameter of the request."""

from __future__ import annotations

import pytest
from oauth2_provider.models import get_access_token_model

from provider_app.models import Consent
from tests.oauth_helpers import AuthorizationRequest, exchange, get_code, query_of, register_resource

pytestmark = pytest.mark.django_db

API = "https://api.example.com/"


def _request(application, **extra):
    return AuthorizationRequest(
        application.client_id, application.redirect_uris, scope="openid profile", extra=extra
    )


@pytest.mark.parametrize("prompt", [None, "none"])
def test_p11_remembered_consent_keeps_the_resource_of_the_request(client, user, application, prompt):
    # RFC 8707: a returning user's request with ``resource`` was a 500 (also with prompt=none).
    register_resource(API, application)
    client.force_login(user)
    get_code(client, _request(application, resource=API))  # consent given on the page
    request = _request(application, resource=API, prompt=prompt)
    response = client.get("/o/authorize/", request.params())
    assert response.status_code == 302, response.content[:300]
    params = query_of(response["Location"])
    assert "code" in params, params
    token = exchange(client, application, request, params["code"])
    assert token.status_code == 200, token.content
    stored = get_access_token_model().objects.filter(application=application).latest("id")
    assert stored.resource == [API]


def test_p11_approval_prompt_auto_does_not_defeat_prompt_consent(client, user, application):
    client.force_login(user)
    request = _request(application)
    exchange(client, application, request, get_code(client, request))  # a live token of this client
    response = client.get(
        "/o/authorize/", _request(application, prompt="consent", approval_prompt="auto").params()
    )
    assert response.status_code == 200
    assert response.templates[0].name == "provider_app/consent.html"


def test_p11_a_live_token_does_not_approve_once_the_consent_is_gone(client, user, application):
    client.force_login(user)
    request = _request(application)
    assert exchange(client, application, request, get_code(client, request)).status_code == 200
    Consent.objects.filter(user=user, application=application).delete()  # the user withdrew it
    response = client.get("/o/authorize/", _request(application, approval_prompt="auto").params())
    assert response.status_code == 200
    assert response.templates[0].name == "provider_app/consent.html"
