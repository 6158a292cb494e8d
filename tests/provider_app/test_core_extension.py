"""The extension points docs/extension-points.md describes work as written: a validator subclass
releasing a custom claim under a custom scope, a project template overriding provider_app's block,
and an API view requiring a scope."""

from __future__ import annotations

import pytest
from django.test import override_settings

from provider_app.conf import SCOPES
from provider_app.oauth2_validator import SUPPORTED_CLAIMS, ProviderOAuth2Validator
from tests.oauth_helpers import AuthorizationRequest, code_flow, validate_id_token

pytestmark = pytest.mark.django_db


class DepartmentValidator(ProviderOAuth2Validator):
    """The docs' example: a ``department`` claim, released only with the ``org`` scope."""

    oidc_claim_scope = {**ProviderOAuth2Validator.oidc_claim_scope, "department": "org"}

    def get_additional_claims(self, request):
        claims = super().get_additional_claims(request)
        claims["department"] = "Research"
        return claims

    def get_discovery_claims(self, request):
        return [*super().get_discovery_claims(request), "department"]


@pytest.fixture
def department_settings(settings):
    return override_settings(
        OAUTH2_PROVIDER={
            **settings.OAUTH2_PROVIDER,
            "OAUTH2_VALIDATOR_CLASS": f"{__name__}.DepartmentValidator",
            "SCOPES": {**SCOPES, "org": "See which department you work in"},
            # DOT's views cache their oauthlib server (and validator) on first use; a project sets
            # the validator once, a test that swaps it must ask DOT to rebuild the server.
            "ALWAYS_RELOAD_OAUTHLIB_CORE": True,
        }
    )


def _flow(client, user, application, scope):
    request, body = code_flow(client, user, application, scope=scope)
    id_claims = validate_id_token(
        client, body["id_token"], audience=application.client_id, nonce=request.nonce, access_token=None
    )
    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    return id_claims, userinfo


def test_validator_subclass_releases_a_custom_claim_with_its_scope(
    client, user, application, department_settings
):
    with department_settings:
        id_claims, userinfo = _flow(client, user, application, "openid org")
        assert id_claims["department"] == userinfo["department"] == "Research"
        metadata = client.get("/o/.well-known/openid-configuration").json()
        assert "org" in metadata["scopes_supported"]
        assert "department" in metadata["claims_supported"]


def test_custom_claim_withheld_without_its_scope(client, user, application, department_settings):
    with department_settings:
        id_claims, userinfo = _flow(client, user, application, "openid profile")
        assert "department" not in id_claims and "department" not in userinfo


def test_custom_scope_is_explained_on_the_consent_page(client, user, application, department_settings):
    with department_settings:
        client.force_login(user)
        request = AuthorizationRequest(application.client_id, application.redirect_uris, scope="openid org")
        response = client.get("/o/authorize/", request.params())
        assert "See which department you work in" in response.content.decode()


def test_project_base_template_restyles_every_page(client, tmp_path, settings):
    """One override of provider_app/base.html (extending the app's own copy) changes every page."""
    template_dir = tmp_path / "templates" / "provider_app"
    template_dir.mkdir(parents=True)
    (template_dir / "base.html").write_text(
        '{% extends "provider_app/base.html" %}{% block header %}<b>Example Corp ID</b>{% endblock %}'
    )
    templates = [{**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]}]
    with override_settings(TEMPLATES=templates):
        page = client.get("/account/login/").content.decode()
    assert "Example Corp ID" in page
    assert 'name="password"' in page  # the app's login.html still fills the content block


def test_supported_claims_cover_the_standard_ones():
    assert {"sub", "name", "email", "email_verified", "preferred_username"} <= set(SUPPORTED_CLAIMS)
