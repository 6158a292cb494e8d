"""``manage.py client_app_rotate_keys``: re-encrypt every stored secret and token with the newest
key of ``CLIENT_APP_ENCRYPTION_KEYS``.

Rotation: put a new key first in the list (keep the old ones after it), deploy, run this command,
then remove the old keys. Each value is decrypted with whichever key still opens it and written
back encrypted with the first key.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from client_app.fields import EncryptedTextField
from client_app.models import PendingLogin, Provider, TokenSet


class Command(BaseCommand):
    help = "Re-encrypt client_app's secrets and tokens with the newest CLIENT_APP_ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        total = 0
        for model in (Provider, TokenSet, PendingLogin):
            fields = [f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
            for pk in model.objects.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    instance = model.objects.select_for_update().filter(pk=pk).first()
                    if instance is not None:
                        # Saving encrypts again, always with the first (newest) key.
                        instance.save(update_fields=fields)
                        total += 1
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted the secrets of {total} rows with the newest key.")
        )
