"""A three-service chain over real HTTP: resource_app's client side (``exchanged_token``) against
provider_app's token exchange (RFC 8693) on the live server, each service validating what it gets
in its own mode: A (JWT) -> B (introspection) -> C (JWT), with the refusals X2-X4 and X7 name."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client, override_settings

from provider_app.models import TokenExchangePolicy
from resource_app.exceptions import InvalidToken, TokenRequestRefused
from resource_app.internal.service_tokens import exchanged_token, kept
from resource_app.validation import validate_token
from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import issue_tokens, register_resource

pytestmark = pytest.mark.e2e

A, B, C = "https://a.example.com/", "https://b.example.com/", "https://c.example.com/"


def _service():
    return ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")


def _as(issuer: str, service, audience: str, mode: str):
    """The settings of the resource_app service ``service`` (its own client) for ``audience``."""
    return override_settings(
        RESOURCE_APP_ISSUER=issuer,
        RESOURCE_APP_AUDIENCE=audience,
        RESOURCE_APP_MODE=mode,
        RESOURCE_APP_CLIENT_ID=service.client_id,
        RESOURCE_APP_CLIENT_SECRET=service.raw_secret,
        RESOURCE_APP_INTROSPECTION_CACHE_SECONDS=0,
    )


@pytest.fixture
def chain(provider_issuer):
    kept.forget()
    site, svc_a, svc_b, svc_c = ApplicationFactory(), _service(), _service(), _service()
    a = register_resource(A, site, scopes="notes:read files:read", token_format="jwt", client=svc_a)
    b = register_resource(B, scopes="notes:read files:read", client=svc_b)
    c = register_resource(C, scopes="files:read", token_format="jwt", client=svc_c)
    for service, source, target in ((svc_a, a, b), (svc_b, b, c)):
        policy = TokenExchangePolicy.objects.create(application=service)
        policy.source_audiences.add(source)
        policy.target_audiences.add(target)
    user = UserFactory()
    # The site's code flow through the live server's host name, so that the JWT's iss is its issuer.
    browser = Client(HTTP_HOST=urlsplit(provider_issuer).netloc)
    tokens = issue_tokens(browser, user, site, resource=A, scope="notes:read files:read", logout=True)
    yield provider_issuer, site, (svc_a, svc_b, svc_c), user, tokens
    kept.forget()


def test_x5_a_b_c_over_http_each_service_sees_the_user_and_the_actors(chain):
    issuer, _site, (svc_a, svc_b, svc_c), user, tokens = chain
    with _as(issuer, svc_a, A, "jwt"):
        at_a = validate_token(tokens["access_token"])
        assert at_a.subject == str(user.pk) and at_a.actors == ()
        for_b = exchanged_token(tokens["access_token"], B, None, not_after=at_a.expires_at)
    with _as(issuer, svc_b, B, "introspection"):
        at_b = validate_token(for_b)
        assert at_b.mode == "introspection" and at_b.subject == str(user.pk)
        assert list(at_b.actors) == [svc_a.client_id] and at_b.audiences == (B,)
        assert at_b.scopes == {"notes:read", "files:read"}
        for_c = exchanged_token(for_b, C, "files:read", not_after=at_b.expires_at)
    with _as(issuer, svc_c, C, "jwt"):
        at_c = validate_token(for_c)
        assert at_c.mode == "jwt" and at_c.subject == str(user.pk)
        assert list(at_c.actors) == [svc_b.client_id, svc_a.client_id]
        assert at_c.scopes == {"files:read"} and at_c.expires_at <= at_a.expires_at


def _refused(issuer, service, subject: str, target: str, scope: str | None = None) -> str:
    kept.forget()
    with _as(issuer, service, "https://unused.example.com/", "jwt"):
        with pytest.raises(TokenRequestRefused) as refused:
            exchanged_token(subject, target, scope, not_after=0)
    return refused.value.error


def test_x2_x3_x4_refusals_over_http(chain):
    issuer, _site, (svc_a, svc_b, _svc_c), _user, tokens = chain
    user_token = tokens["access_token"]
    # a token meant for another audience: B was sent A's token and tries to exchange it
    assert _refused(issuer, svc_b, user_token, C) == "invalid_grant"
    # a scope that grows: B's token carries no files:write
    assert _refused(issuer, svc_a, user_token, B, "notes:read files:write") == "invalid_scope"
    # an actor the policy does not allow: A may not reach C
    assert _refused(issuer, svc_a, user_token, C) == "invalid_target"


def test_x7_a_revoked_subject_token_over_http(chain):
    issuer, site, (svc_a, svc_b, _svc_c), _user, tokens = chain
    with _as(issuer, svc_a, A, "jwt"):
        for_b = exchanged_token(tokens["access_token"], B, None, not_after=0)
    revoked = requests.post(
        f"{issuer}/revoke_token/",
        data={"token": tokens["access_token"]},
        auth=(site.client_id, site.raw_secret),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert _refused(issuer, svc_a, tokens["access_token"], B) == "invalid_grant"
    with _as(issuer, svc_b, B, "introspection"):
        with pytest.raises(InvalidToken):  # what was exchanged from it went with it
            validate_token(for_b)
