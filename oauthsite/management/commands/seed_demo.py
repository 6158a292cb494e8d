"""``manage.py seed_demo``: demo accounts and the demo client on both sides; safe to run again."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from oauthsite import demo


class Command(BaseCommand):
    help = "Create the demo accounts and the demo client (provider and client side). Idempotent."

    def handle(self, *args, **options) -> None:
        demo.seed_users()
        client = demo.seed_both_sides()
        self.stdout.write(
            self.style.SUCCESS(f"Demo accounts ready: {', '.join(u for u, _, _ in demo.DEMO_USERS)}")
        )
        rotated = " (new secret stored on both sides)" if client.client_secret else ""
        self.stdout.write(self.style.SUCCESS(f"Demo client ready: {client.client_id}{rotated}"))
        self.stdout.write(self.style.SUCCESS(f"Demo provider registered in client_app: {demo.DEMO_ISSUER}"))
        demo.seed_services(getattr(settings, "DEMO_DIR", None))
        services = ", ".join(f"{s.name} {s.audience}" for s in demo.DEMO_SERVICES)
        self.stdout.write(self.style.SUCCESS(f"Demo services registered at the provider: {services}"))
