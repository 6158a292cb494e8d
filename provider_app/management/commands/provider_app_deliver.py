"""``manage.py provider_app_deliver``: attempt every outbox delivery that is due, once."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from provider_app.internal.outbox import deliver_due


class Command(BaseCommand):
    help = (
        "Attempt every due delivery of the outbox (logout tokens) once: for cron beside the task "
        "worker, after an outage of the task queue, or with a task backend that cannot defer retries."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=1000, help="At most this many deliveries.")

    def handle(self, *args, **options) -> None:
        delivered = deliver_due(limit=options["limit"])
        self.stdout.write(f"Delivered {delivered} due deliveries.")
