"""C4, RFC 9207: the authorization response's ``iss``."""

from __future__ import annotations

import pytest

from client_app.models import SocialAccount
from tests.client_app.conftest import error_code

pytestmark = pytest.mark.django_db


def test_c4_wrong_iss_is_refused(flow):
    response = flow.callback(flow.start(), iss="https://attacker.example")
    assert response.status_code == 400
    assert error_code(response) == "bad_iss"
    assert flow.fake.token_requests == []  # the code never goes to the token endpoint


def test_c4_missing_iss_is_refused_when_advertised(flow):
    response = flow.callback(flow.start(), iss=None)
    assert error_code(response) == "missing_iss"
    assert flow.fake.token_requests == []


def test_c4_missing_iss_is_accepted_when_not_advertised(flow):
    flow.fake.iss_supported = False
    response = flow.callback(flow.start(), iss=None)
    assert response.status_code == 302, error_code(response)
    assert SocialAccount.objects.count() == 1


def test_c4_wrong_iss_is_refused_even_when_not_advertised(flow):
    flow.fake.iss_supported = False
    assert error_code(flow.callback(flow.start(), iss="https://attacker.example")) == "bad_iss"


def test_c4_iss_checked_on_error_responses_too(flow):
    response = flow.callback(flow.start(), iss="https://attacker.example", error="access_denied", code=None)
    assert error_code(response) == "bad_iss"


def test_c4_discovery_naming_another_issuer_is_refused(flow, fake_provider, client, provider):
    original = fake_provider.discovery_document
    fake_provider.discovery_document = lambda: {**original(), "issuer": "https://attacker.example"}
    response = client.post(f"/client/{provider.slug}/login/")
    assert response.status_code in (400, 502)
    assert error_code(response) == "issuer_mismatch"
