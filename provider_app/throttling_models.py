"""Browsers where an account signed in: their failures are counted apart (P20, provider_app.known_devices)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class KnownLoginDevice(models.Model):
    """A browser that completed a sign-in for ``user``, named by a signed cookie holding ``id``.

    Sign-in from it is throttled by its own failures, not by the account's, so that someone who
    only knows the username cannot keep the real user out. Holds no secret: the cookie is signed
    with ``SECRET_KEY``, and a row alone lets nobody in.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    last_sign_in = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    last_failure = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "known sign-in device"
        indexes = [models.Index(fields=["user", "last_sign_in"], name="provider_app_known_dev_user")]

    def __str__(self) -> str:
        return f"sign-in device of {self.user} since {self.created:%Y-%m-%d}"
