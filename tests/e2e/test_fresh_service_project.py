"""Issue 13's "done when": a fresh service project (tests/e2e/service_project: only resource_app
installed, three settings) protects a DRF view against our provider and against a standards-
compliant provider nobody here wrote (panva's oidc-provider, OpenID Certified, run by Node.js from
tests/e2e/foreign_provider), in both modes, the service running as a process of its own.

Each provider issues RFC 9068 JWT access tokens for the notes service and opaque tokens for the
files service; the service validates the first locally and introspects the second with its own
credentials. The provider's endpoints come from its discovery document, as any client finds them.
The project keeps resource_app's defaults (the introspection cache, the deny-list in its database),
so it is set up as docs/microservices.md says: `migrate` on a new database, then started."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from jwcrypto.jws import JWS

from tests.factories import ApplicationFactory
from tests.oauth_helpers import register_resource
from tests.processes import ROOT, free_port, server_process

pytestmark = pytest.mark.e2e

NOTES = "https://notes.example.com/"  # JWT access tokens, validated locally
FILES = "https://files.example.com/"  # opaque tokens, introspected
FOREIGN = Path(__file__).resolve().parent / "foreign_provider"
MODES = {"jwt": (NOTES, "notes:read", "notes:write"), "introspection": (FILES, "files:read", "files:write")}


@dataclass
class Provider:
    """A running provider as the tests see it: its issuer, a client that gets tokens, and the files
    service's own credentials there."""

    issuer: str
    caller: tuple[str, str]
    service: tuple[str, str]

    def endpoint(self, name: str) -> str:
        metadata = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
        return metadata[name]

    def token(self, resource: str, scope: str) -> str:
        data = {"grant_type": "client_credentials", "resource": resource, "scope": scope}
        response = requests.post(self.endpoint("token_endpoint"), data=data, auth=self.caller, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def revoke(self, token: str) -> None:
        response = requests.post(
            self.endpoint("revocation_endpoint"), data={"token": token}, auth=self.caller, timeout=10
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def foreign_provider():
    node = shutil.which("node")
    if node is None or not (FOREIGN / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("needs Node.js and oidc-provider installed by `python3 dev.py setup` (npm ci)")
    port = free_port()
    caller, service = ("caller", "caller-secret-for-tests"), ("files-service", "files-secret-for-tests")
    env = {
        **os.environ, "PORT": str(port), "JWT_RESOURCE": NOTES, "OPAQUE_RESOURCE": FILES,
        "CALLER_SECRET": caller[1], "SERVICE_SECRET": service[1],
    }  # fmt: skip
    issuer = f"http://127.0.0.1:{port}"
    ready = f"{issuer}/.well-known/openid-configuration"
    with server_process([node, "server.mjs"], env=env, ready_url=ready, cwd=FOREIGN):
        yield Provider(issuer, caller, service)


@pytest.fixture
def our_provider(provider_issuer):
    caller = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    service = ApplicationFactory(authorization_grant_type="client-credentials", redirect_uris="")
    register_resource(NOTES, caller, scopes="notes:read notes:write", token_format="jwt")
    register_resource(FILES, caller, scopes="files:read files:write", token_format="opaque", client=service)
    return Provider(
        provider_issuer, (caller.client_id, caller.raw_secret), (service.client_id, service.raw_secret)
    )


@dataclass
class Service:
    """The fresh service project as its developer runs it: ``migrate`` on its own new database, then
    ``runserver`` (a process of its own); ``manage`` runs another command with the same settings."""

    url: str
    env: dict[str, str]

    def manage(self, *command: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "django", *command], env=self.env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def running(self):
        port = urlsplit(self.url).port
        command = [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"]
        return server_process(command, env=self.env, ready_url=self.url)


def _service(provider: Provider, mode: str, directory: Path, *, migrate: bool = True) -> Service:
    audience, scope, _ = MODES[mode]
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.e2e.service_project.settings",
        "SERVICE_DATABASE": str(directory / "service.sqlite3"),
        "SERVICE_ISSUER": provider.issuer, "SERVICE_AUDIENCE": audience, "SERVICE_MODE": mode,
        "SERVICE_SCOPE": scope, "SERVICE_CLIENT_ID": "", "SERVICE_CLIENT_SECRET": "",
    }  # fmt: skip
    if mode == "introspection":
        env["SERVICE_CLIENT_ID"], env["SERVICE_CLIENT_SECRET"] = provider.service
    service = Service(f"http://127.0.0.1:{free_port()}/items/", env)
    if migrate:
        service.manage("migrate", "--noinput")  # docs/microservices.md: the deny-list's table
    return service


def _jti(token: str) -> str:
    """The ``jti`` of a JWT access token (read, not verified: the service verifies it)."""
    jws = JWS()
    jws.deserialize(token)
    return json.loads(jws.objects["payload"])["jti"]


def _record_revocation(service: Service, jti: str) -> None:
    """What resource_app's events receiver writes for a revocation event about one JWT (E3), written
    through the service's own models and settings."""
    code = (
        "from datetime import timedelta; from django.utils import timezone; "
        "from resource_app.models import Revocation; "
        f"Revocation.objects.create(kind='jti', value={jti!r}, "
        "expires_at=timezone.now() + timedelta(hours=1))"
    )
    service.manage("shell", "-c", code)


def _get(url: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(url, headers=headers, timeout=10)


def _refused(response: requests.Response, status: int, error: str | None) -> bool:
    challenge = response.headers.get("WWW-Authenticate", "")
    has_error = f'error="{error}"' in challenge if error else "error=" not in challenge
    return response.status_code == status and challenge.startswith("Bearer") and has_error


def _refused_within(seconds: float, url: str, token: str) -> requests.Response:
    deadline = time.monotonic() + seconds
    while (answer := _get(url, token)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    return answer


def _protects_its_view(provider: Provider, mode: str, directory: Path) -> None:
    audience, scope, other_scope = MODES[mode]
    other_audience, their_scope, _ = MODES["introspection" if mode == "jwt" else "jwt"]
    service = _service(provider, mode, directory)
    url = service.url
    with service.running():
        token = provider.token(audience, scope)
        # Accepted: also the deny-list (on by default) was read, from the migrated table (a worker
        # that cannot read it answers 503).
        answer = _get(url, token)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["mode"] == mode and body["client_id"] == provider.caller[0]
        assert body["audiences"] == [audience] and body["scopes"] == [scope]

        assert _refused(_get(url), 401, None)  # no token: a bare challenge (RFC 6750 3.1)
        assert _refused(_get(url, "not-a-token"), 401, "invalid_token")
        assert _refused(_get(url, provider.token(other_audience, their_scope)), 401, "invalid_token")
        assert _refused(_get(url, provider.token(audience, other_scope)), 403, "insufficient_scope")

        # A revoked token, with the defaults (docs/microservices.md, the table of the two modes):
        if mode == "introspection":
            # not yet seen by the service: the provider says "inactive" at once ...
            unseen = provider.token(audience, scope)
            provider.revoke(unseen)
            assert _refused(_get(url, unseen), 401, "invalid_token")
            # ... seen a moment ago: answered from the cache, at most 30 s and never past its exp.
            provider.revoke(token)
            assert _get(url, token).status_code == 200
        else:
            # A JWT is validated locally: the provider's revocation reaches the service only as an
            # event, which the receiver writes in the deny-list (on by default). With that entry the
            # token is refused within one sync interval (0.5 s) ...
            _record_revocation(service, _jti(token))
            assert _refused(_refused_within(5, url, token), 401, "invalid_token")
            # ... and only that token.
            assert _get(url, provider.token(audience, scope)).status_code == 200


@pytest.mark.parametrize("mode", ["jwt", "introspection"])
def test_a_fresh_service_project_protects_a_drf_view_against_a_provider_nobody_here_wrote(
    foreign_provider, mode, tmp_path
):
    _protects_its_view(foreign_provider, mode, tmp_path)


@pytest.mark.parametrize("mode", ["jwt", "introspection"])
def test_a_fresh_service_project_protects_a_drf_view_against_provider_app(our_provider, mode, tmp_path):
    _protects_its_view(our_provider, mode, tmp_path)


def test_a_fresh_service_project_never_migrated_refuses_every_token_and_says_why(our_provider, tmp_path):
    service = _service(our_provider, "jwt", tmp_path, migrate=False)
    with service.running() as printed:
        answer = _get(service.url, our_provider.token(NOTES, "notes:read"))
        assert answer.status_code == 503 and answer.headers["Retry-After"]  # fail closed
        assert "resource_app_revocation does not exist" in printed()
        assert "Run `python manage.py migrate`" in printed()  # the developer's console says the fix
