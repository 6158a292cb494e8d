"""Issue 14: a chain of three services over real HTTP, each a process of its own running the demo's
service code (services/: only resource_app installed), against provider_app on the live server.

The user's token is for A (JWT, validated locally); A calls B for the same user with a token the
provider exchanged for it (RFC 8693), B (introspection) calls C (JWT) the same way. Each service
answers what it saw (``services/views.py``), so the test reads the whole chain in A's answer: the
user stays ``sub``, each hop's ``aud`` is that service, ``act`` names the acting services, newest
first. Then the refusals: a token meant for another audience, a scope that grows, an actor the
policy does not allow, a revoked subject token (before the exchange, and after it: X7).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from tests.factories import ApplicationFactory
from tests.oauth_helpers import code_flow, register_resource
from tests.processes import ROOT, free_port, server_process

pytestmark = pytest.mark.e2e


@dataclass
class Service:
    name: str
    settings: str  # the services/ settings module it runs with
    mode: str
    scopes: str  # what it understands at the provider
    needs: str  # the scope a caller needs
    token_format: str
    port: int = field(default_factory=free_port)
    client: object = None

    @property
    def audience(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        return f"{self.audience}api/whoami/"


@pytest.fixture
def chain(provider_issuer, user):
    """A (notes, JWT) -> B (files, introspection) -> C (archive, JWT), registered at the provider,
    each with its own confidential client; the exchange policy lets A call B and B call C."""
    a = Service("notes", "services.notes.settings", "jwt", "notes:read files:read", "notes:read", "jwt")
    b = Service(
        "files", "services.files.settings", "introspection", "files:read files:write", "files:read", "opaque"
    )
    c = Service("archive", "services.notes.settings", "jwt", "files:read", "files:read", "jwt")
    web = ApplicationFactory(name="web site")  # the site the user signs in to; it calls A (and B)
    for service in (a, b, c):
        service.client = ApplicationFactory(
            name=f"{service.name} service", authorization_grant_type="client-credentials", redirect_uris=""
        )
        callers = [web] if service is not c else []
        register_resource(
            service.audience, *callers, scopes=service.scopes, token_format=service.token_format,
            client=service.client,
        )  # fmt: skip
    allow_exchange(a.client, source=a.audience, targets=[b.audience])
    allow_exchange(b.client, source=b.audience, targets=[c.audience])
    return Chain(provider_issuer, user, web, a, b, c)


def allow_exchange(client, *, source: str, targets: list[str]) -> None:
    """The provider's token exchange policy for ``client`` (X2: RFC 8693 ``may_act``)."""
    from provider_app.models import ResourceServer, TokenExchangePolicy

    policy = TokenExchangePolicy.objects.create(application=client)
    policy.source_audiences.add(ResourceServer.objects.get(identifier=source))
    policy.target_audiences.add(*ResourceServer.objects.filter(identifier__in=targets))


@dataclass
class Chain:
    issuer: str
    user: object
    web: object
    a: Service
    b: Service
    c: Service

    def user_token(self, resource: str, scope: str) -> str:
        """A user's access token for ``resource`` from a code flow at the live provider's issuer."""
        browser = Client(HTTP_HOST=urlsplit(self.issuer).netloc)
        _request, tokens = code_flow(browser, self.user, self.web, resource=resource, scope=scope)
        return tokens["access_token"]

    @contextlib.contextmanager
    def running(self, **overrides: dict[str, str]):
        """The three services as processes; ``overrides`` by service name replace SERVICE_* values."""
        with services_running(self.issuer, [(self.a, self.b), (self.b, self.c), (self.c, None)], **overrides):
            yield


@contextlib.contextmanager
def services_running(issuer: str, hops: list, **overrides: dict[str, str]):
    """Each ``(service, following service or None)`` of ``hops`` as a process running the demo's
    service code against ``issuer``; ``overrides`` by service name replace SERVICE_* values."""
    with contextlib.ExitStack() as stack:
        databases = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for service, following in reversed(hops):  # the last hop first: it is called by the others
            env = {
                **os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": service.settings,
                "SERVICE_DEBUG": "1", "SERVICE_ISSUER": issuer, "SERVICE_AUDIENCE": service.audience,
                "SERVICE_MODE": service.mode, "SERVICE_SCOPE": service.needs,
                "SERVICE_CLIENT_ID": service.client.client_id,
                "SERVICE_CLIENT_SECRET": service.client.raw_secret,
                "SERVICE_NEXT_AUDIENCE": following.audience if following else "",
                "SERVICE_NEXT_SCOPE": following.needs if following else "",
                "SERVICE_DATABASE": str(databases / f"{service.name}.sqlite3"),
                **overrides.get(service.name, {}),
            }  # fmt: skip
            migrate = [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"]
            subprocess.run(migrate, env=env, cwd=ROOT, check=True)  # its own database: the deny-list
            command = [
                sys.executable, "-m", "django", "runserver", f"127.0.0.1:{service.port}", "--noreload",
            ]  # fmt: skip
            stack.enter_context(server_process(command, env=env, ready_url=service.url))
        yield


def _get(url: str, token: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _revoke(chain, token: str) -> None:
    """The site revokes the user's token at the provider (RFC 7009)."""
    revoked = requests.post(
        f"{chain.issuer}/revoke_token/",
        data={"token": token, "token_type_hint": "access_token"},
        auth=(chain.web.client_id, chain.web.raw_secret),
        timeout=10,
    )
    assert revoked.status_code == 200


def _hop(seen: dict) -> dict:
    assert "answer" in seen.get("next", {}), seen.get("next")
    return seen["next"]["answer"]


def test_x5_a_three_service_chain_keeps_the_user_and_names_each_actor(chain):
    token = chain.user_token(chain.a.audience, "notes:read files:read")
    username = str(chain.user.pk)
    with chain.running():
        answer = _get(chain.a.url, token)
        assert answer.status_code == 200, answer.text
        a = answer.json()
        b = _hop(a)
        c = _hop(b)
    assert (a["mode"], b["mode"], c["mode"]) == ("jwt", "introspection", "jwt")
    assert (
        a["aud"] == [chain.a.audience] and b["aud"] == [chain.b.audience] and c["aud"] == [chain.c.audience]
    )
    assert a["sub"] == b["sub"] == c["sub"] == username  # X5: the user stays the subject
    assert a["act"] == []
    assert b["act"] == [chain.a.client.client_id]
    assert c["act"] == [chain.b.client.client_id, chain.a.client.client_id]  # nested, current first
    assert b["scope"] == "files:read" and c["scope"] == "files:read"  # X4: only what was asked


def test_x3_a_token_meant_for_another_audience_is_refused_by_the_service(chain):
    token_for_b = chain.user_token(chain.b.audience, "files:read")
    with chain.running():
        answer = _get(chain.a.url, token_for_b)
    assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_x4_a_scope_that_grows_is_refused_at_the_exchange(chain):
    token = chain.user_token(chain.a.audience, "notes:read files:read")
    with chain.running(notes={"SERVICE_NEXT_SCOPE": "files:read files:write"}):
        answer = _get(chain.a.url, token)
    assert answer.status_code == 200
    assert answer.json()["next"] == {"service_url": chain.b.audience, "exchange_refused": "invalid_scope"}


def test_x2_an_actor_the_policy_does_not_allow_is_refused(chain):
    token = chain.user_token(chain.a.audience, "notes:read files:read")
    # A asks for a token for C directly: the policy lets A call B only.
    with chain.running(notes={"SERVICE_NEXT_AUDIENCE": chain.c.audience, "SERVICE_NEXT_SCOPE": "files:read"}):
        answer = _get(chain.a.url, token)
    assert answer.status_code == 200
    assert answer.json()["next"] == {"service_url": chain.c.audience, "exchange_refused": "invalid_target"}


def test_x7_a_revoked_subject_token_reaches_no_further_service(chain):
    token = chain.user_token(chain.a.audience, "notes:read files:read")
    with chain.running():
        assert "answer" in _get(chain.a.url, token).json()["next"]  # the chain works, B's token is kept
        _revoke(chain, token)
        answer = _get(chain.a.url, token)
    # A validates JWTs locally: until it learns of the revocation (issue 15) it still answers, but
    # the token for B that A keeps was revoked with its subject (X7), and B introspects: refused.
    assert answer.status_code == 200
    after = answer.json()["next"]
    assert after["status"] == 401 and 'error="invalid_token"' in after["refusal"], after


def test_x3_a_revoked_subject_token_is_not_exchanged(chain):
    token = chain.user_token(chain.a.audience, "notes:read files:read")
    _revoke(chain, token)
    with chain.running():  # A has kept nothing for this user: it must ask the provider
        answer = _get(chain.a.url, token)
    assert answer.json()["next"] == {"service_url": chain.b.audience, "exchange_refused": "invalid_grant"}
