"""Remember when a client last used its access to a user's account, cheaply.

:func:`note_use` is called where a token is used: bearer validation (the API and UserInfo) and the
token endpoint. A shared-cache key makes it write :class:`~provider_app.usage_models.ClientUsage` at
most once per :data:`RESOLUTION` per user and client; without a working cache it writes every time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from provider_app.usage_models import ClientUsage

logger = logging.getLogger(__name__)

#: "Last used" is exact to this much.
RESOLUTION = timedelta(minutes=5)


def note_use(user_id, application_id) -> None:
    """Record that ``application_id`` used a token of ``user_id`` now (never raises)."""
    if not user_id or not application_id:
        return
    key = f"provider_app:client-used:{user_id}:{application_id}"
    try:
        if not cache.add(key, 1, timeout=int(RESOLUTION.total_seconds())):
            return  # recorded less than RESOLUTION ago
    except Exception:  # noqa: BLE001  (a cache outage must not break API calls)
        logger.warning("cache unavailable for client usage; writing to the database")
    try:
        with transaction.atomic():
            ClientUsage.objects.update_or_create(
                user_id=user_id, application_id=application_id, defaults={"last_used": timezone.now()}
            )
    except IntegrityError:
        pass  # a concurrent request recorded it
    except DatabaseError:
        logger.exception("could not record client usage")


def note_token_use(access_token) -> None:
    """:func:`note_use` for an access token (``None`` and client-credentials tokens are ignored)."""
    if access_token is not None:
        note_use(access_token.user_id, access_token.application_id)
