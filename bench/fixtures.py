"""Benchmark data, created in the benchmark's own database before the load starts.

Run as ``python -m bench.fixtures <command> ...`` with ``DJANGO_SETTINGS_MODULE`` set to the
configuration being measured, so that every row is written the way that configuration writes it
(its validator, its client-secret hasher, its token storage):

- ``clients --kind ours|stock``: the benchmark user and the confidential clients; prints JSON with
  their ids and secrets (the database keeps only what the configuration stores).
- ``codes --client-id X --count N --out FILE``: N authorization codes, saved through the
  configured validator's ``save_authorization_code`` as the authorization endpoint would, one
  token-request body per line (with the PKCE verifier).
- ``refresh --client-id X --count N --out FILE``: N access/refresh token pairs, one
  refresh-request body per line.
- ``bearer --client-id X --scope S``: one access token, printed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import uuid
from datetime import timedelta
from urllib.parse import urlencode

BENCH_USERNAME = "bench-user"
BENCH_PASSWORD = "bench-user-password-2f9c"  # noqa: S105 - a throwaway account in a throwaway database
REDIRECT_URI = "https://rp.bench.example/callback"
CODE_SCOPE = "openid profile email offline_access"
# One PKCE pair for every code: each code still carries its own challenge binding (RFC 7636 4.4).
CODE_VERIFIER = "bench-" + "v" * 60
CODE_CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()
)


def _setup_django() -> None:
    import django

    django.setup()


def create_clients(kind: str) -> dict:
    """The user and the clients one configuration needs; secrets are returned, hashed at rest."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from oauth2_provider.models import get_application_model

    if kind == "ours":
        from provider_app.internal.clients import generate_client_secret
    else:  # stock DOT's project does not install provider_app: the same 48 random bytes, base64url
        import secrets

        def generate_client_secret() -> str:
            return secrets.token_urlsafe(48)

    Application = get_application_model()
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=BENCH_USERNAME,
            defaults={"email": "bench@example.com", "first_name": "Ada", "last_name": "Lovelace"},
        )
        if created:
            user.set_password(BENCH_PASSWORD)
            user.save()
        variants = {"ours": [("ours", True)], "stock": [("stock", True), ("plain", False)]}[kind]
        clients: dict[str, dict] = {}
        for prefix, hashed in variants:
            for role, grant_type in (
                ("code", Application.GRANT_AUTHORIZATION_CODE),
                ("cc", Application.GRANT_CLIENT_CREDENTIALS),
                ("rs", Application.GRANT_CLIENT_CREDENTIALS),
            ):
                secret = generate_client_secret()
                application = Application(
                    client_id=f"{prefix}-{role}",
                    name=f"bench {prefix} {role}",
                    client_type=Application.CLIENT_CONFIDENTIAL,
                    authorization_grant_type=grant_type,
                    redirect_uris=REDIRECT_URI if role == "code" else "",
                    algorithm=Application.RS256_ALGORITHM,
                    client_secret=secret,
                    hash_client_secret=hashed,
                )
                application.save()
                if kind == "ours" and role == "rs":
                    from django.conf import settings

                    from provider_app.models import ClientPolicy

                    # The bench tokens carry no ``resource``: their audience is the default one
                    # (bench.settings_ours; the issuer's port differs from run to run).
                    ClientPolicy.objects.create(
                        application=application,
                        is_resource_server=True,
                        resource_identifiers=settings.PROVIDER_APP_DEFAULT_AUDIENCE,
                    )
                clients[f"{prefix}-{role}"] = {
                    "client_id": application.client_id,
                    "client_secret": secret,
                    "stored_as": _stored_as(application),
                }
    return {
        "user": {"username": BENCH_USERNAME, "password": BENCH_PASSWORD, "pk": user.pk},
        "clients": clients,
    }


def _stored_as(application) -> str:
    """How the database really holds the secret: the hasher's name, or "plain"."""
    from django.contrib.auth.hashers import identify_hasher

    application.refresh_from_db(fields=["client_secret"])
    try:
        return identify_hasher(application.client_secret).algorithm
    except ValueError:
        return "plain"


def _application(client_id: str):
    from oauth2_provider.models import get_application_model

    return get_application_model().objects.get(client_id=client_id)


def _user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=BENCH_USERNAME)


def create_codes(client_id: str, count: int) -> list[str]:
    """Codes saved by the configured validator, exactly as its authorization endpoint saves them."""
    from django.db import transaction
    from oauth2_provider.oauth2_backends import get_oauthlib_core
    from oauthlib.common import Request, generate_token

    validator = get_oauthlib_core().server.request_validator
    application, user = _application(client_id), _user()
    bodies = []
    with transaction.atomic():
        for i in range(count):
            request = Request(f"https://bench.invalid/o/authorize/?client_id={client_id}")
            request.user = user
            request.client = application
            request.client_id = client_id
            request.redirect_uri = REDIRECT_URI
            request.scopes = CODE_SCOPE.split()
            request.response_type = "code"
            request.code_challenge = CODE_CHALLENGE
            request.code_challenge_method = "S256"
            request.nonce = f"bench-nonce-{i}"
            request.claims = None
            code = generate_token()
            validator.save_authorization_code(client_id, {"code": code}, request)
            _remember_authentication(user, code)
            bodies.append(
                urlencode(
                    {
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": REDIRECT_URI,
                        "code_verifier": CODE_VERIFIER,
                    }
                )
            )
    return bodies


def _remember_authentication(user, code: str) -> None:
    """provider_app's authorization endpoint also stores how the user signed in, for the ID token's
    ``auth_time``/``amr``/``acr`` (its token endpoint reads it back); stock DOT has no such row."""
    from django.apps import apps

    if not apps.is_installed("provider_app"):
        return
    from django.utils import timezone

    from provider_app.app_settings import app_settings
    from provider_app.internal.tokens import digest
    from provider_app.models import AuthenticationContext

    AuthenticationContext.objects.create(
        user=user,
        code_digest=digest(code),
        auth_time=timezone.now(),
        amr=["pwd"],
        acr=app_settings.ACR_SINGLE_FACTOR,
    )


def issue_access_token(application, user, scope: str, *, with_refresh: bool) -> tuple[str, str | None]:
    """An access token (and its refresh token) stored as the configuration stores them."""
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model, set_token_value
    from oauth2_provider.settings import oauth2_settings
    from oauthlib.common import generate_token

    access_value = generate_token()
    access_token = get_access_token_model()(
        user=user,
        application=application,
        scope=scope,
        expires=timezone.now() + timedelta(seconds=oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS),
    )
    set_token_value(access_token, access_value)
    access_token.save()
    if not with_refresh:
        return access_value, None
    refresh_value = generate_token()
    refresh_token = get_refresh_token_model()(
        user=user, application=application, access_token=access_token, token_family=uuid.uuid4()
    )
    set_token_value(refresh_token, refresh_value)
    refresh_token.save()
    return access_value, refresh_value


def create_refresh_tokens(client_id: str, count: int) -> list[str]:
    from django.db import transaction

    application, user = _application(client_id), _user()
    bodies = []
    with transaction.atomic():
        for _ in range(count):
            _access, refresh = issue_access_token(application, user, CODE_SCOPE, with_refresh=True)
            bodies.append(urlencode({"grant_type": "refresh_token", "refresh_token": refresh}))
    return bodies


#: Scenario (8): the bench's resource server client ("ours-rs") exchanges the user's token for
#: service A, its own audience, for one for service B (RFC 8693).
EXCHANGE_SOURCE, EXCHANGE_TARGET = "https://a.bench.example/", "https://b.bench.example/"


def create_exchange() -> dict:
    """Services A (JWT, ``ours-rs`` its client) and B (opaque), the exchange policy A -> B, and a
    subject token of the user for A; returns the token request's body."""
    from django.db import transaction

    from provider_app.internal.tokens import digest
    from provider_app.models import ResourceServer, TokenExchangePolicy

    service, user = _application("ours-rs"), _user()
    with transaction.atomic():
        source, _ = ResourceServer.objects.update_or_create(
            identifier=EXCHANGE_SOURCE,
            defaults={"name": "bench A", "scopes": "notes:read", "token_format": "jwt", "client": service},
        )
        target, _ = ResourceServer.objects.update_or_create(
            identifier=EXCHANGE_TARGET, defaults={"name": "bench B", "scopes": "notes:read"}
        )
        policy, _ = TokenExchangePolicy.objects.get_or_create(application=service)
        policy.source_audiences.add(source)
        policy.target_audiences.add(target)
        subject, _ = issue_access_token(_application("ours-code"), user, "notes:read", with_refresh=False)
        from oauth2_provider.models import get_access_token_model

        get_access_token_model().objects.filter(token_checksum=digest(subject)).update(
            resource=[EXCHANGE_SOURCE]
        )
    body = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": subject,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "resource": EXCHANGE_TARGET,
    }
    return {"body": urlencode(body)}


def create_login_client(client_origin: str, issuer: str) -> dict:
    """Scenario (6): a client registered at the provider (consent already given by the benchmark
    user) and the same client registered in client_app, which reaches the provider over HTTP."""
    from django.db import transaction
    from oauth2_provider.models import get_application_model

    from client_app.models import Provider
    from provider_app.internal.clients import generate_client_secret
    from provider_app.models import Consent, normalise_scopes

    Application = get_application_model()
    secret = generate_client_secret()
    scopes = "openid profile email"
    with transaction.atomic():
        application = Application.objects.create(
            client_id="bench-rp",
            name="bench relying party",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=f"{client_origin}/client/bench/callback/",
            algorithm=Application.RS256_ALGORITHM,
            client_secret=secret,
        )
        Consent.objects.create(user=_user(), application=application, scope=normalise_scopes(scopes))
        Provider.objects.create(
            name="Bench Provider",
            slug="bench",
            issuer=issuer,
            client_id="bench-rp",
            client_secret=secret,
            scopes=scopes,
            token_endpoint_auth_method=Provider.AUTH_BASIC,
            id_token_signing_algs="RS256",
            enabled=True,
        )
    return {"client_id": application.client_id}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fixtures")
    sub = parser.add_subparsers(dest="command", required=True)
    clients = sub.add_parser("clients")
    clients.add_argument("--kind", choices=["ours", "stock"], required=True)
    for name in ("codes", "refresh"):
        p = sub.add_parser(name)
        p.add_argument("--client-id", required=True)
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--out", required=True)
    bearer = sub.add_parser("bearer")
    bearer.add_argument("--client-id", required=True)
    bearer.add_argument("--scope", required=True)
    sub.add_parser("exchange")
    login = sub.add_parser("login-client")
    login.add_argument("--client-origin", required=True)
    login.add_argument("--issuer", required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_ours")
    _setup_django()
    if args.command == "clients":
        json.dump(create_clients(args.kind), sys.stdout)
    elif args.command in ("codes", "refresh"):
        create = create_codes if args.command == "codes" else create_refresh_tokens
        bodies = create(args.client_id, args.count)
        with open(args.out, "w") as out:
            out.write("\n".join(bodies) + "\n")
        json.dump({"written": len(bodies)}, sys.stdout)
    elif args.command == "exchange":
        json.dump(create_exchange(), sys.stdout)
    elif args.command == "login-client":
        json.dump(create_login_client(args.client_origin, args.issuer), sys.stdout)
    elif args.command == "bearer":
        token, _ = issue_access_token(_application(args.client_id), _user(), args.scope, with_refresh=False)
        json.dump({"access_token": token}, sys.stdout)


if __name__ == "__main__":
    main()
