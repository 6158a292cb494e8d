"""When a client last used its access to a user's account (the connected-apps page, "last used")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings


class ClientUsage(models.Model):
    """The last time ``application`` used an access token of ``user`` (API, UserInfo).

    Written at most once per ``provider_app.token_usage.RESOLUTION`` per token, so that bearer
    validation stays free of database writes on almost every request.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    last_used = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="provider_app_one_usage_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.application} used by {self.user} at {self.last_used:%Y-%m-%d %H:%M}"
