"""``manage.py client_app_register_provider``: register (or update) a provider from its issuer.

    manage.py client_app_register_provider --slug keycloak --name "Keycloak" \\
        --issuer https://sso.example.com/realms/main --client-id my-site --client-secret-env KC_SECRET

The secret is read from an environment variable or a file (``--client-secret-file``), or from
standard input with ``--client-secret-stdin``, so it never lands in the shell history.
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from client_app.exceptions import ClientAppError
from client_app.internal import metadata
from client_app.models import Provider


class Command(BaseCommand):
    help = "Register or update an OpenID provider from its issuer URL, client_id and client secret."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", help="Display name (default: the slug).")
        parser.add_argument("--issuer", required=True)
        parser.add_argument("--client-id", required=True)
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument(
            "--client-secret-env", metavar="VAR", help="Environment variable holding the secret."
        )
        secret.add_argument("--client-secret-file", metavar="PATH")
        secret.add_argument("--client-secret-stdin", action="store_true")
        parser.add_argument("--scopes", default="openid profile email")
        parser.add_argument(
            "--auth-method", choices=[Provider.AUTH_BASIC, Provider.AUTH_POST], default=Provider.AUTH_BASIC
        )
        parser.add_argument(
            "--algorithms", default="RS256", help="Allowed ID token algorithms, space-separated."
        )
        parser.add_argument("--logout-at-provider", action="store_true")
        parser.add_argument(
            "--no-check", action="store_true", help="Do not fetch the discovery document now."
        )

    def handle(self, *args, **options) -> None:
        provider = Provider.objects.filter(slug=options["slug"]).first() or Provider(slug=options["slug"])
        provider.name = options["name"] or provider.name or options["slug"]
        provider.issuer = options["issuer"]
        provider.client_id = options["client_id"]
        provider.scopes = options["scopes"]
        provider.token_endpoint_auth_method = options["auth_method"]
        provider.id_token_signing_algs = options["algorithms"]
        provider.logout_at_provider = options["logout_at_provider"] or provider.logout_at_provider
        secret = self._secret(options)
        if secret is not None:
            provider.client_secret = secret
        try:
            provider.full_clean()
        except ValidationError as error:
            raise CommandError(f"Invalid provider: {error.message_dict}")
        if not options["no_check"]:
            try:
                metadata.fetch_discovery(provider.issuer, refresh=True)
            except ClientAppError as error:
                raise CommandError(f"Discovery at {provider.issuer} failed: {error.message}")
        created = provider.pk is None
        provider.save()
        metadata.forget(provider)
        self.stdout.write(
            self.style.SUCCESS(f"{'Registered' if created else 'Updated'} provider {provider.slug}.")
        )

    @staticmethod
    def _secret(options) -> str | None:
        if options["client_secret_env"]:
            value = os.environ.get(options["client_secret_env"])
            if not value:
                raise CommandError(f"The environment variable {options['client_secret_env']} is empty.")
            return value.strip()
        if options["client_secret_file"]:
            with open(options["client_secret_file"]) as handle:
                return handle.read().strip()
        if options["client_secret_stdin"]:
            return sys.stdin.readline().strip()
        return None
