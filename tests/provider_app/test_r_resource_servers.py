"""R1-R4 at the provider: registered resource servers, RFC 8707 audiences, RFC 9068 JWT access tokens."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_access_token_model

from provider_app.models import ResourceServer
from tests.factories import ApplicationFactory
from tests.oauth_helpers import (
    AuthorizationRequest,
    api_me,
    basic_auth,
    client_credentials,
    introspect,
    issue_tokens,
    post_refresh,
    register_resource,
)

pytestmark = pytest.mark.django_db

NOTES = "https://notes.example.com/"
FILES = "https://files.example.com/"
SCOPE = "openid profile notes:read"


def _parts(token: str) -> tuple[dict, dict]:
    header, claims, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(claims)


@pytest.fixture
def notes(application):
    return register_resource(NOTES, application, scopes="notes:read notes:write", token_format="jwt")


def test_r1_a_jwt_access_token_for_a_resource_that_wants_one(client, user, application, notes):
    body = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    header, claims = _parts(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    keys = client.get("/o/.well-known/jwks.json").json()["keys"]
    assert header["kid"] in {k["kid"] for k in keys}
    assert claims["iss"] == client.get("/o/.well-known/openid-configuration").json()["issuer"]
    assert claims["aud"] == NOTES and claims["sub"] == str(user.pk)
    assert claims["client_id"] == application.client_id
    assert claims["scope"] == "notes:read openid profile" or set(claims["scope"].split()) == {
        "openid",
        "profile",
        "notes:read",
    }
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert len(claims["jti"]) >= 32
    # The signature verifies with the published key.
    keyset = jwk.JWKSet.from_json(json.dumps({"keys": keys}))
    jwt.JWT(jwt=body["access_token"], key=keyset, algs=["RS256"])


def test_r1_the_id_token_is_never_typed_as_an_access_token(client, user, application, notes):
    body = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    id_header, _ = _parts(body["id_token"])
    assert id_header.get("typ") != "at+jwt"


def test_r1_client_credentials_sub_is_the_client(client, notes):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    notes.allowed_clients.add(service)
    response = client_credentials(client, service, resource=NOTES, scope="notes:read")
    assert response.status_code == 200, response.content
    _, claims = _parts(response.json()["access_token"])
    assert claims["sub"] == service.client_id == claims["client_id"]
    assert "auth_time" not in claims and "amr" not in claims


def test_p16_a_jwt_access_token_is_stored_hashed(client, user, application, notes):
    token = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)["access_token"]
    stored = get_access_token_model().objects.get(application=application)
    assert stored.token_checksum == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.token or "")
    assert stored.resource == [NOTES]


def test_r2_authentication_claims_are_carried_and_kept_across_refresh(client, user, application, notes):
    first = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    _, claims = _parts(first["access_token"])
    assert "auth_time" in claims
    refreshed = post_refresh(client, application, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    _, again = _parts(refreshed.json()["access_token"])
    assert again["aud"] == NOTES  # the refresh token stays bound to the grant's resource (R4)
    for name in ("auth_time", "amr", "acr"):
        assert again.get(name) == claims.get(name)
    assert again["jti"] != claims["jti"]


def _authentication(token: str) -> dict:
    _, claims = _parts(token)
    return {name: claims.get(name) for name in ("auth_time", "amr", "acr")}


def test_r2_without_openid_the_authentication_is_kept_across_two_refreshes(client, user, application, notes):
    """A grant without ``openid`` has no ID token: the authentication is found through the sign-in's
    refresh-token family, at every refresh."""
    first = issue_tokens(client, user, application, resource=NOTES, scope="notes:read", logout=True)
    assert "id_token" not in first
    seen = _authentication(first["access_token"])
    assert seen["auth_time"] is not None and seen["amr"]
    refresh_token = first["refresh_token"]
    for _ in range(2):
        refreshed = post_refresh(client, application, refresh_token)
        assert refreshed.status_code == 200, refreshed.content
        assert _authentication(refreshed.json()["access_token"]) == seen
        refresh_token = refreshed.json()["refresh_token"]


def test_r2_a_refresh_that_narrows_openid_away_keeps_the_authentication(client, user, application, notes):
    """The first refresh drops ``openid`` (no new ID token), the second one still carries the
    original authentication, though the sign-in's last ID token is gone meanwhile."""
    from oauth2_provider.models import get_id_token_model

    first = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE, logout=True)
    seen = _authentication(first["access_token"])
    narrowed = post_refresh(client, application, first["refresh_token"], scope="notes:read")
    assert narrowed.status_code == 200, narrowed.content
    assert "id_token" not in narrowed.json()
    assert _authentication(narrowed.json()["access_token"]) == seen
    # The ID token of the first response is no longer any access token's: the cleanup removes it.
    get_id_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    call_command("clear_expired_tokens", stdout=io.StringIO())
    assert not get_id_token_model().objects.exists()
    again = post_refresh(client, application, narrowed.json()["refresh_token"], scope="notes:read")
    assert again.status_code == 200, again.content
    assert _authentication(again.json()["access_token"]) == seen


def test_r2_the_authentication_outlives_the_unredeemed_codes_cleanup(client, user, application, notes):
    """Contexts of codes never redeemed go after an hour (at the user's next sign-in); a redeemed
    code's context, linked to the family, stays as long as the family."""
    from provider_app.internal.login import UNREDEEMED_LIFETIME
    from provider_app.models import AuthenticationContext

    first = issue_tokens(client, user, application, resource=NOTES, scope="notes:read", logout=True)
    seen = _authentication(first["access_token"])
    AuthenticationContext.objects.update(created=timezone.now() - UNREDEEMED_LIFETIME * 2)
    issue_tokens(client, user, application, resource=NOTES, scope="notes:read", logout=True)  # cleans
    refreshed = post_refresh(client, application, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    assert _authentication(refreshed.json()["access_token"]) == seen


def test_r2_the_cleanup_removes_the_authentication_of_an_ended_sign_in(client, user, application, notes):
    from oauth2_provider.models import get_refresh_token_model

    from provider_app.internal.login import UNREDEEMED_LIFETIME
    from provider_app.models import AuthenticationContext

    ended = issue_tokens(client, user, application, resource=NOTES, scope="notes:read", logout=True)
    live = issue_tokens(client, user, application, resource=NOTES, scope="notes:read", logout=True)
    AuthenticationContext.objects.update(created=timezone.now() - UNREDEEMED_LIFETIME * 2)
    family = (
        get_refresh_token_model()
        .objects.get(token_checksum=hashlib.sha256(ended["refresh_token"].encode()).hexdigest())
        .token_family
    )
    get_refresh_token_model().objects.filter(token_family=family).delete()
    call_command("clear_expired_tokens", stdout=io.StringIO())
    assert list(AuthenticationContext.objects.values_list("token_family", flat=True)) != [family]
    assert AuthenticationContext.objects.count() == 1  # the live sign-in's
    refreshed = post_refresh(client, application, live["refresh_token"])
    assert _authentication(refreshed.json()["access_token"]) == _authentication(live["access_token"])


def _legacy_context():
    """The only context, made as rows written before contexts were linked to families (0017)."""
    from provider_app.models import AuthenticationContext

    AuthenticationContext.objects.update(token_family=None)
    return AuthenticationContext.objects.get()


def _family_of(refresh_token: str):
    from oauth2_provider.models import get_refresh_token_model

    digest = hashlib.sha256(refresh_token.encode()).hexdigest()
    return get_refresh_token_model().objects.get(token_checksum=digest).token_family


def test_r2_a_context_written_before_families_is_found_by_its_id_token_and_linked(
    client, user, application, notes
):
    first = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE, logout=True)
    context = _legacy_context()
    refreshed = post_refresh(client, application, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    assert _authentication(refreshed.json()["access_token"]) == _authentication(first["access_token"])
    context.refresh_from_db()
    assert context.token_family == _family_of(refreshed.json()["refresh_token"])


def test_r2_the_migration_links_contexts_written_before_to_their_family(client, user, application, notes):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    first = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE, logout=True)
    context = _legacy_context()
    migration = importlib.import_module("provider_app.migrations.0017_authentication_context_token_family")
    migration.link_to_families(apps, SimpleNamespace(connection=connection))
    context.refresh_from_db()
    assert context.token_family == _family_of(first["refresh_token"])


def test_r2_the_cleanup_keeps_a_context_whose_id_token_lives(client, user, application, notes):
    """A context with no refresh-token family (written before 0017, or a client without refresh
    tokens) stays while its ID token lives, however old."""
    from provider_app.internal.login import UNREDEEMED_LIFETIME
    from provider_app.models import AuthenticationContext

    issue_tokens(client, user, application, resource=NOTES, scope=SCOPE, logout=True)
    _legacy_context()
    AuthenticationContext.objects.update(created=timezone.now() - UNREDEEMED_LIFETIME * 2)
    call_command("clear_expired_tokens", stdout=io.StringIO())
    assert AuthenticationContext.objects.filter(id_token__isnull=False).count() == 1


def test_r2_the_cleanup_keeps_the_context_of_a_code_not_yet_redeemed(client, user, application, notes):
    from provider_app.models import AuthenticationContext
    from tests.oauth_helpers import exchange, signed_in_code

    request, code = signed_in_code(client, user, application, logout=True, resource=NOTES, scope=SCOPE)
    call_command("clear_expired_tokens", stdout=io.StringIO())
    assert AuthenticationContext.objects.count() == 1
    response = exchange(client, application, request, code)
    assert response.status_code == 200, response.content
    assert _authentication(response.json()["access_token"])["auth_time"] is not None


def test_r3_an_unknown_resource_is_invalid_target_at_the_token_endpoint(client):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    response = client_credentials(client, service, resource="https://unknown.example.com/", scope="openid")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_r3_a_client_not_allowed_for_the_resource_is_invalid_target(client):
    register_resource(NOTES, scopes="notes:read", token_format="jwt")  # no client allowed
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    response = client_credentials(client, service, resource=NOTES, scope="openid")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_r3_a_scope_the_resource_does_not_understand_is_refused(client, notes):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    notes.allowed_clients.add(service)
    response = client_credentials(client, service, resource=NOTES, scope="files:delete")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_r3_never_an_ambiguous_jwt(client, notes):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    notes.allowed_clients.add(service)
    register_resource(FILES, service, scopes="notes:read")
    response = client.post(
        "/o/token/",
        f"grant_type=client_credentials&scope=notes:read&resource={NOTES}&resource={FILES}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(service.client_id, service.raw_secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_r3_without_a_resource_the_token_is_opaque_for_the_default_audience(client, user, application, notes):
    body = issue_tokens(client, user, application, scope="openid profile")
    assert body["access_token"].count(".") == 0
    assert api_me(client, body["access_token"]).status_code == 200


def test_r3_an_opaque_resource_gets_an_opaque_token(client, user, application):
    register_resource(NOTES, application, scopes="notes:read", token_format="opaque")
    body = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    assert body["access_token"].count(".") == 0
    assert get_access_token_model().objects.get(application=application).resource == [NOTES]


@pytest.mark.parametrize("resource", ["https://notes.example.com/#x", "notes", "urn:example:notes"])
def test_r4_a_resource_must_be_an_absolute_uri_without_fragment(client, notes, resource):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    notes.allowed_clients.add(service)
    response = client_credentials(client, service, resource=resource, scope="notes:read")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_r4_a_refresh_may_not_widen_the_resource(client, user, application, notes):
    register_resource(FILES, application, scopes="notes:read", token_format="jwt")
    first = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    response = post_refresh(client, application, first["refresh_token"], resource=FILES)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_a_resource_lifetime_sets_the_token_lifetime(client, user, application, notes):
    notes.access_token_lifetime = 120
    notes.save()
    body = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    _, claims = _parts(body["access_token"])
    assert body["expires_in"] == 120 == claims["exp"] - claims["iat"]
    stored = get_access_token_model().objects.get(application=application)
    assert 100 <= (stored.expires - stored.created).total_seconds() <= 125


def test_p22_the_resource_servers_own_client_may_introspect_its_tokens(client, user, application, notes):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    token = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)["access_token"]
    assert introspect(client, service, token).json() == {"active": False}
    notes.client = service
    notes.save()
    answer = introspect(client, service, token).json()
    assert answer["active"] is True and answer["aud"] == [NOTES] and answer["iss"]


@pytest.mark.parametrize("token_format", ["opaque", "jwt"])
def test_r10_a_service_client_never_learns_about_another_registered_services_token(
    client, user, application, token_format
):
    """Two registered services, each with its own client (RFC 7662 4): the notes service's client
    introspecting a token issued for the files service gets exactly ``{"active": false}``; the files
    service's own client gets the claims."""
    notes_client, files_client = (
        ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="") for _ in range(2)
    )
    register_resource(NOTES, application, scopes="notes:read", token_format=token_format, client=notes_client)
    register_resource(FILES, application, scopes="files:read", token_format=token_format, client=files_client)
    token = issue_tokens(client, user, application, resource=FILES, scope="openid files:read")["access_token"]
    assert (token.count(".") == 2) is (token_format == "jwt")
    refused = introspect(client, notes_client, token)
    assert refused.status_code == 200 and refused.json() == {"active": False}
    answer = introspect(client, files_client, token).json()
    assert answer["active"] is True and answer["aud"] == [FILES]
    assert answer["client_id"] == application.client_id and answer["sub"] == str(user.pk)


def test_the_register_command_creates_and_updates(application):
    out = io.StringIO()
    call_command(
        "provider_app_register_resource", "--identifier", NOTES, "--name", "Notes", "--scopes", "b a",
        "--token-format", "jwt", "--access-token-lifetime", "300", "--allow-client", application.client_id,
        stdout=out,
    )  # fmt: skip
    server = ResourceServer.objects.get(identifier=NOTES)
    assert (server.scopes, server.token_format, server.access_token_lifetime) == ("a b", "jwt", 300)
    assert list(server.allowed_clients.all()) == [application]
    call_command(
        "provider_app_register_resource", "--identifier", NOTES, "--name", "N", "--scopes", "a", stdout=out
    )
    server.refresh_from_db()
    assert (server.name, server.token_format) == ("N", "opaque")
    assert "Updated" in out.getvalue()
    for bad in ("http://notes.example.com/", "https://notes.example.com/#f", "notes"):
        with pytest.raises(CommandError):
            call_command(
                "provider_app_register_resource", "--identifier", bad, "--name", "x", "--scopes", "a"
            )


def _authorize(client, user, application, resource, scope="openid"):
    from tests.oauth_helpers import query_of

    client.force_login(user)
    request = AuthorizationRequest(
        application.client_id, application.redirect_uris, scope=scope, extra={"resource": resource}
    )
    response = client.get("/o/authorize/", request.params())
    assert response.status_code == 302, response.content[:300]
    assert response["Location"].startswith(application.redirect_uris)
    return query_of(response["Location"]), request


def test_r3_an_unknown_resource_is_refused_before_the_user_is_asked(client, user, application):
    params, request = _authorize(client, user, application, "https://unknown.example.com/")
    assert params["error"] == "invalid_target" and params["state"] == request.state and params["iss"]


def test_r3_a_resource_that_does_not_allow_the_client_is_refused_at_authorization(client, user, application):
    register_resource(NOTES, scopes="notes:read")
    params, _ = _authorize(client, user, application, NOTES)
    assert params["error"] == "invalid_target"


def test_r3_an_allowed_resource_reaches_the_consent_page(client, user, application, notes):
    client.force_login(user)
    request = AuthorizationRequest(
        application.client_id, application.redirect_uris, scope="openid notes:read", extra={"resource": NOTES}
    )
    response = client.get("/o/authorize/", request.params())
    assert response.status_code == 200
    assert ("notes:read", "notes:read (" + NOTES + ")") in response.context_data["scope_descriptions"]


def test_r3_a_repeated_resource_cannot_escape_the_resource_lifetime(client):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    register_resource(NOTES, service, scopes="notes:read", access_token_lifetime=60)
    response = client.post(
        "/o/token/",
        f"grant_type=client_credentials&scope=notes:read&resource={NOTES}&resource={NOTES}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(service.client_id, service.raw_secret),
    )
    assert response.status_code == 200, response.content
    assert response.json()["expires_in"] == 60


def test_r4_a_nul_in_a_resource_is_invalid_target_not_a_500(client, user, application, notes):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    notes.allowed_clients.add(service)
    response = client_credentials(client, service, resource=NOTES + "\x00", scope="notes:read")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"
    params, _ = _authorize(client, user, application, NOTES + "\x00")
    assert params["error"] in ("invalid_target", "invalid_request")


def test_r4_a_refresh_cannot_add_a_resource_to_a_grant_without_one(client, user, application, notes):
    first = issue_tokens(client, user, application, scope="openid profile")  # default audience
    response = post_refresh(client, application, first["refresh_token"], resource=NOTES)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


# RFC 9068 3 / RFC 8707 2.2: the provider's own audience is nameable (resource=<issuer>), and the
# refresh token keeps the grant's resources while each access token gets the narrowed set.

ISSUER = "http://testserver/o"


def _grant_for_issuer_and_notes(client, user, application, scope="openid profile notes:read"):
    """A code for resource=<issuer> and resource=NOTES (the client_app's authorization request)."""
    from tests.oauth_helpers import get_code, request_for

    client.force_login(user)
    request = request_for(application, scope=scope, extra={"resource": [ISSUER, NOTES]})
    return request, get_code(client, request)


def _userinfo(client, access_token):
    return client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def test_r3_resource_naming_the_issuer_is_the_default_audience(client, user, application, notes):
    from tests.oauth_helpers import exchange

    request, code = _grant_for_issuer_and_notes(client, user, application)
    response = exchange(client, application, request, code, resource=ISSUER)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].count(".") == 0  # opaque, no resource restriction
    assert get_access_token_model().objects.get(application=application).resource == []
    assert _userinfo(client, body["access_token"]).status_code == 200
    assert api_me(client, body["access_token"]).status_code == 200


def test_r3_the_issuer_needs_no_registry_entry(client):
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    response = client_credentials(client, service, resource=ISSUER + "/", scope="openid")
    assert response.status_code == 200, response.content
    assert response.json()["access_token"].count(".") == 0
    assert get_access_token_model().objects.get(application=service).resource == []


def test_r3_the_issuer_with_an_unregistered_resource_is_still_refused_at_authorization(
    client, user, application
):
    params, _ = _authorize(client, user, application, [ISSUER, "https://unknown.example.com/"])
    assert params["error"] == "invalid_target"
    request = AuthorizationRequest(
        application.client_id, application.redirect_uris, scope="openid", extra={"resource": ISSUER}
    )
    assert client.get("/o/authorize/", request.params()).status_code == 200  # alone: the consent page


def test_r3_one_token_is_never_for_the_default_audience_and_a_resource(client, user, application, notes):
    from tests.oauth_helpers import exchange

    request, code = _grant_for_issuer_and_notes(client, user, application)
    response = exchange(client, application, request, code)  # no resource: the whole grant
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_r4_a_rotated_refresh_token_keeps_the_grants_resources(client, user, application, notes):
    from oauth2_provider.models import get_refresh_token_model

    from tests.oauth_helpers import exchange

    request, code = _grant_for_issuer_and_notes(client, user, application)
    first = exchange(client, application, request, code, resource=ISSUER).json()
    refresh_tokens = get_refresh_token_model().objects.filter(revoked__isnull=True)
    assert refresh_tokens.get().resource == [ISSUER, NOTES]
    # RFC 8707 2.2: the refresh token obtains an access token for one of the grant's resources...
    for_notes = post_refresh(client, application, first["refresh_token"], resource=NOTES)
    assert for_notes.status_code == 200, for_notes.content
    _, claims = _parts(for_notes.json()["access_token"])
    assert claims["aud"] == NOTES
    assert _userinfo(client, for_notes.json()["access_token"]).status_code != 200
    # ... and the rotated refresh token still holds the grant's resources, not the narrowed one.
    assert refresh_tokens.get().resource == [ISSUER, NOTES]
    again = post_refresh(client, application, for_notes.json()["refresh_token"], resource=ISSUER)
    assert again.status_code == 200, again.content
    assert again.json()["access_token"].count(".") == 0
    assert _userinfo(client, again.json()["access_token"]).status_code == 200
    assert refresh_tokens.get().resource == [ISSUER, NOTES]


def test_r4_a_refresh_from_a_kept_grant_still_never_widens(client, user, application, notes):
    from tests.oauth_helpers import exchange

    register_resource(FILES, application, scopes="notes:read", token_format="jwt")
    request, code = _grant_for_issuer_and_notes(client, user, application)
    first = exchange(client, application, request, code, resource=NOTES).json()
    response = post_refresh(client, application, first["refresh_token"], resource=FILES)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_r4_the_issuer_is_not_added_to_a_grant_for_resources_only(client, user, application, notes):
    first = issue_tokens(client, user, application, resource=NOTES, scope=SCOPE)
    response = post_refresh(client, application, first["refresh_token"], resource=ISSUER)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_r4_a_default_audience_grant_may_name_the_issuer_on_refresh(client, user, application):
    first = issue_tokens(client, user, application, scope="openid profile")
    response = post_refresh(client, application, first["refresh_token"], resource=ISSUER)
    assert response.status_code == 200, response.content
    assert api_me(client, response.json()["access_token"]).status_code == 200


def test_r4_a_code_exchange_cannot_add_a_resource_to_a_grant_without_one(client, user, application, notes):
    from tests.oauth_helpers import exchange, signed_in_code

    request, code = signed_in_code(client, user, application, scope=SCOPE)  # no resource
    response = exchange(client, application, request, code, resource=NOTES)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"
    assert not get_access_token_model().objects.exists()


@pytest.mark.parametrize("resource", [ISSUER, ISSUER + "/"])
def test_r4_a_code_exchange_of_a_grant_without_resource_may_name_the_issuer(
    client, user, application, resource
):
    from tests.oauth_helpers import exchange, signed_in_code

    request, code = signed_in_code(client, user, application, scope="openid profile")
    response = exchange(client, application, request, code, resource=resource)
    assert response.status_code == 200, response.content
    assert api_me(client, response.json()["access_token"]).status_code == 200
    assert get_access_token_model().objects.get(application=application).resource == []


def test_r4_a_code_exchange_of_a_grant_without_resource_may_name_the_default_audience(
    settings, client, user, application
):
    from tests.oauth_helpers import exchange, signed_in_code

    settings.PROVIDER_APP_DEFAULT_AUDIENCE = "https://api.example.com/"
    request, code = signed_in_code(client, user, application, scope="openid profile")
    response = exchange(client, application, request, code, resource="https://api.example.com/")
    assert response.status_code == 200, response.content
    assert get_access_token_model().objects.get(application=application).resource == []


# R3: the provider's own audience (the issuer, PROVIDER_APP_DEFAULT_AUDIENCE) is never a registered
# resource server: ``resource`` naming it is the default audience, and a registry entry under that name
# would bypass the registry's rules (allowed clients, scopes, token format) without ever applying them.

DEFAULT_AUDIENCE = "https://api.example.com/"
CONFIGURED_ISSUER = "https://id.example.com/o"


@pytest.fixture
def own_audience(settings):
    settings.PROVIDER_APP_DEFAULT_AUDIENCE = DEFAULT_AUDIENCE


def _register(identifier: str) -> None:
    call_command(
        "provider_app_register_resource", "--identifier", identifier, "--name", "x", "--scopes", "a",
        stdout=io.StringIO(),
    )  # fmt: skip


@pytest.mark.parametrize(
    "identifier",
    [
        "https://testserver/o",  # the issuer of a request to this site (OIDC_ISS_ENDPOINT unset)
        "https://testserver/o/",
        "https://id.example.com/o",  # any host the site answers for (ALLOWED_HOSTS) is an issuer
        DEFAULT_AUDIENCE,
        DEFAULT_AUDIENCE.rstrip("/"),
    ],
)
def test_r3_the_command_refuses_the_providers_own_audience(own_audience, identifier):
    with pytest.raises(CommandError, match="own audience"):
        _register(identifier)
    assert not ResourceServer.objects.exists()


def test_r3_a_configured_issuer_is_refused_and_other_paths_are_not(settings, own_audience):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": CONFIGURED_ISSUER}
    for identifier in (CONFIGURED_ISSUER, CONFIGURED_ISSUER + "/"):
        with pytest.raises(CommandError, match="own audience"):
            _register(identifier)
    for identifier in ("https://testserver/o", "https://id.example.com/notes", "https://api.example.com/v2"):
        _register(identifier)  # not the issuer once it is configured; not the default audience
    assert ResourceServer.objects.count() == 3


def test_r3_the_admin_refuses_the_providers_own_audience_with_a_form_error(
    verified_admin_client, own_audience
):
    form = {
        "identifier": DEFAULT_AUDIENCE,
        "name": "API",
        "scopes": "a",
        "token_format": "jwt",
        "events_uri": "",
    }
    for identifier in (DEFAULT_AUDIENCE, "https://testserver/o"):
        response = verified_admin_client.post(
            "/admin/provider_app/resourceserver/add/", {**form, "identifier": identifier}
        )
        assert response.status_code == 200
        assert "own audience" in " ".join(response.context["adminform"].form.errors["identifier"])
    assert not ResourceServer.objects.exists()
    response = verified_admin_client.post(
        "/admin/provider_app/resourceserver/add/", {**form, "identifier": "https://notes.example.com/"}
    )
    assert (
        response.status_code == 302
        and ResourceServer.objects.get().identifier == "https://notes.example.com/"
    )
