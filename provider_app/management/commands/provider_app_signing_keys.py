"""``manage.py provider_app_signing_keys``: rotate the key that signs ID tokens and JWT access tokens.

    python manage.py provider_app_signing_keys add              # publish a new key (prints its kid)
    python manage.py provider_app_signing_keys activate <kid>   # once it has been published long enough
    python manage.py provider_app_signing_keys retire           # drop retired keys whose tokens expired
    python manage.py provider_app_signing_keys list

See :mod:`provider_app.internal.signing_keys` (and docs/operations.md) for the order and the waits.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from provider_app.internal import signing_keys
from provider_app.models import SigningKey


class Command(BaseCommand):
    help = "Rotate the provider's signing keys without downtime: add, activate, retire, list."

    def add_arguments(self, parser) -> None:
        steps = parser.add_subparsers(dest="step", required=True)
        add = steps.add_parser("add", help="generate and publish a new key (not signing yet)")
        add.add_argument("--size", type=int, choices=[2048, 3072, 4096], default=2048)
        activate = steps.add_parser("activate", help="sign with a published key from now on")
        activate.add_argument("kid")
        activate.add_argument("--force", action="store_true", help="do not wait for JWKS caches")
        steps.add_parser("retire", help="remove retired keys whose tokens have all expired")
        steps.add_parser("reencrypt", help="encrypt the stored keys with the current SECRET_KEY")
        steps.add_parser("list", help="the keys, their state and dates (never the private part)")

    def handle(self, *args, **options) -> None:
        step = options["step"]
        if step == "add":
            row = signing_keys.add(options["size"])
            self.stdout.write(self.style.SUCCESS(f"Published the new key {row.kid} (not signing yet)."))
        elif step == "activate":
            try:
                row = signing_keys.activate(options["kid"], force=options["force"])
            except SigningKey.DoesNotExist:
                raise CommandError(f"No key {options['kid']}.") from None
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(self.style.SUCCESS(f"{row.kid} signs from now on."))
        elif step == "retire":
            self.stdout.write(self.style.SUCCESS(f"Removed {signing_keys.retire()} retired keys."))
        elif step == "reencrypt":
            self.stdout.write(self.style.SUCCESS(f"Re-encrypted {signing_keys.reencrypt()} keys."))
        else:
            for row in SigningKey.objects.all():
                until = f" until {row.retire_after:%Y-%m-%d %H:%M}" if row.retire_after else ""
                self.stdout.write(f"{row.kid}  {row.state}{until}  created {row.created:%Y-%m-%d %H:%M}")
