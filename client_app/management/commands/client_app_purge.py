"""``manage.py client_app_purge``: delete expired pending logins (run it from cron, like cleartokens)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from client_app.internal.authorization import purge_expired


class Command(BaseCommand):
    help = "Delete client_app's expired pending logins."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Deleted {purge_expired()} expired pending logins.")
