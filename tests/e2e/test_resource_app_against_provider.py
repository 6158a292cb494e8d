"""resource_app against provider_app over real HTTP: a service validates the provider's JWT access
tokens locally (keys from discovery and JWKS) and the provider's opaque tokens by introspection."""

from __future__ import annotations

import pytest
import requests
from django.test import override_settings

from resource_app.exceptions import InvalidToken
from resource_app.validation import validate_token
from tests.e2e.conftest import client_credentials_token
from tests.factories import ApplicationFactory
from tests.oauth_helpers import register_resource

pytestmark = pytest.mark.e2e

NOTES = "https://notes.example.com/"


def _service(issuer: str, mode: str, **extra):
    return override_settings(
        RESOURCE_APP_ISSUER=issuer, RESOURCE_APP_AUDIENCE=NOTES, RESOURCE_APP_MODE=mode, **extra
    )


def test_r6_a_service_validates_the_providers_jwt_access_tokens_locally(provider_issuer):
    provider = provider_issuer
    caller = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    register_resource(NOTES, caller, scopes="notes:read", token_format="jwt")
    token = client_credentials_token(provider, caller, NOTES)
    with _service(provider, "jwt"):
        accepted = validate_token(token)
        assert accepted.mode == "jwt" and accepted.subject == caller.client_id
        assert accepted.scopes == {"notes:read"} and accepted.audiences == (NOTES,)
        register_resource("https://other.example.com/", caller, scopes="notes:read", token_format="jwt")
        with pytest.raises(InvalidToken):  # a token for another service of the same provider
            validate_token(client_credentials_token(provider, caller, "https://other.example.com/"))


def test_r10_a_service_introspects_the_providers_opaque_tokens(provider_issuer):
    provider = provider_issuer
    caller = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    service_client = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    server = register_resource(NOTES, caller, scopes="notes:read", token_format="opaque")
    token = client_credentials_token(provider, caller, NOTES)
    credentials = {"RESOURCE_APP_CLIENT_ID": service_client.client_id}
    credentials["RESOURCE_APP_CLIENT_SECRET"] = service_client.raw_secret
    with _service(provider, "introspection", RESOURCE_APP_INTROSPECTION_CACHE_SECONDS=0, **credentials):
        with pytest.raises(InvalidToken):  # not yet the resource server's client: the provider says no
            validate_token(token)
        server.client = service_client
        server.save()
        accepted = validate_token(token)
        assert accepted.mode == "introspection" and accepted.subject == caller.client_id
        assert accepted.audiences == (NOTES,)
        requests.post(
            f"{provider}/revoke_token/",
            data={"token": token},
            auth=(caller.client_id, caller.raw_secret),
            timeout=10,
        )
        with pytest.raises(InvalidToken):  # revoked: refused at the next request (no cache here)
            validate_token(token)
