"""``manage.py clearredeemedcodes``: forget redeemed authorization codes past their retention."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from provider_app.internal.tokens import clear_expired_redemptions


class Command(BaseCommand):
    help = (
        "Delete the records of redeemed authorization codes older than "
        "PROVIDER_APP_REDEEMED_CODE_RETENTION_SECONDS (run it beside cleartokens, e.g. daily)."
    )

    def handle(self, *args, **options) -> None:
        deleted = clear_expired_redemptions()
        self.stdout.write(f"Deleted {deleted} expired redeemed-code records.")
