"""``manage.py provider_app_rotate_totp_keys``: re-encrypt every TOTP seed with the newest key (P28).

Rotation: put a new key first in ``PROVIDER_APP_TOTP_ENCRYPTION_KEYS`` (keep the old ones after it),
or, with derived keys, move the old ``SECRET_KEY`` into ``SECRET_KEY_FALLBACKS``; deploy, run this
command, then remove the old key. Each seed is decrypted with whichever key still opens it and
written back encrypted with the first. A device whose seed is still in clear (written with
``QuerySet.update()``, or restored from an old dump) is encrypted too.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.two_factor import seeds
from provider_app.two_factor.models import TOTPSeed


class Command(BaseCommand):
    help = "Re-encrypt every TOTP seed with the newest key (PROVIDER_APP_TOTP_ENCRYPTION_KEYS)."

    def handle(self, *args, **options) -> None:
        rotated = sealed = 0
        for pk in TOTPSeed.objects.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                row = TOTPSeed.objects.select_for_update().filter(pk=pk).first()
                if row is not None:
                    row.ciphertext = seeds.rotate(row.ciphertext)
                    row.save(update_fields=["ciphertext", "updated"])
                    rotated += 1
        for device in TOTPDevice.objects.exclude(key=seeds.SEALED).iterator():
            with transaction.atomic():
                device.save(update_fields=["key"])  # the pre_save receiver seals it
                sealed += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {rotated} TOTP seeds with the newest key; encrypted {sealed} stored in clear."
            )
        )
