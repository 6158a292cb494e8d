"""``manage.py provider_app_register_resource``: create or update a resource server (RFC 8707).

    python manage.py provider_app_register_resource --identifier https://notes.example.com/ \\
        --name Notes --scopes "notes:read notes:write" --token-format jwt \\
        --access-token-lifetime 300 --allow-client <client_id> --client <the service's client_id> \\
        --may-exchange-for https://files.example.com/ --events-uri https://notes.example.com/events/

``--may-exchange-for`` (repeatable) gives the service's own client an RFC 8693 token exchange policy:
it may exchange tokens issued for this resource for tokens for that one (the admin edits it too).
``--events-uri``: where the service receives revocation events (RFC 8935; E1); ``""`` removes it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from provider_app.internal.resources import register
from provider_app.internal.token_exchange import allow_exchange
from provider_app.models import ResourceServer


class Command(BaseCommand):
    help = "Create or update a resource server (audience, scopes, token format, allowed clients)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--identifier", required=True, help="the audience, an absolute https URI")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="space-separated scopes the service understands")
        parser.add_argument(
            "--token-format",
            choices=[f for f, _ in ResourceServer.TOKEN_FORMATS],
            default=ResourceServer.OPAQUE,
        )
        parser.add_argument("--access-token-lifetime", type=int, default=None, help="seconds")
        parser.add_argument(
            "--allow-client", action="append", default=[], help="client_id allowed to ask (repeatable)"
        )
        parser.add_argument("--client", default=None, help="the service's own client_id (may introspect)")
        parser.add_argument(
            "--may-exchange-for",
            action="append",
            default=[],
            help="a registered audience the service's client may exchange this audience's tokens for "
            "(RFC 8693; repeatable)",
        )

        parser.add_argument(
            "--events-uri",
            default=None,
            help="where the service receives revocation events (Security Event Tokens, RFC 8935)",
        )

    def handle(self, *args, **options) -> None:
        lifetime = options["access_token_lifetime"]
        if lifetime is not None and lifetime <= 0:
            raise CommandError("--access-token-lifetime must be positive.")
        try:
            with transaction.atomic():
                server, created = register(
                    identifier=options["identifier"],
                    name=options["name"],
                    scopes=options["scopes"],
                    token_format=options["token_format"],
                    access_token_lifetime=lifetime,
                    allowed_client_ids=options["allow_client"],
                    client_id=options["client"],
                    events_uri=options["events_uri"],
                )
                if options["may_exchange_for"]:
                    allow_exchange(server, options["may_exchange_for"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} the resource server {server}."))
