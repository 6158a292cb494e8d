"""Remember when a client last used its access to a user's account, cheaply.

:func:`note_token_use` is called where an access token is used: bearer validation for the API and
UserInfo (signing in and refreshing show in the tokens' own timestamps). A shared-cache key makes it
write :class:`~provider_app.usage_models.ClientUsage` at most once per :data:`RESOLUTION` per token;
without a working cache it writes every time.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from provider_app.usage_models import ClientUsage

logger = logging.getLogger(__name__)

#: "Last used" is exact to this much.
RESOLUTION = timedelta(minutes=5)
RESOLUTION_SECONDS = RESOLUTION.total_seconds()
_recently_noted: dict[str, float] = {}


def note_token_use(access_token) -> None:
    """Record that the client of ``access_token`` used it for its user now (never raises).

    The gate is keyed by the token's checksum, so each token writes at most once per
    :data:`RESOLUTION`; client-credentials tokens (no user) are ignored.
    """
    if access_token is None or not access_token.user_id or not access_token.application_id:
        return
    key = f"provider_app:token-used:{access_token.token_checksum}"
    # This process recorded the token less than RESOLUTION ago: skip even the shared cache
    # (a round trip on every API request otherwise; see docs/performance.md).
    now = time.monotonic()
    if now - _recently_noted.get(key, -RESOLUTION_SECONDS) < RESOLUTION_SECONDS:
        return
    if len(_recently_noted) > 10_000:
        _recently_noted.clear()
    _recently_noted[key] = now
    try:
        if not cache.add(key, 1, timeout=int(RESOLUTION.total_seconds())):
            return  # recorded less than RESOLUTION ago
    except Exception:  # noqa: BLE001  (a cache outage must not break API calls)
        logger.warning("cache unavailable for client usage; writing to the database")
    try:
        with transaction.atomic():
            ClientUsage.objects.update_or_create(
                user_id=access_token.user_id,
                application_id=access_token.application_id,
                defaults={"last_used": timezone.now()},
            )
    except IntegrityError:
        pass  # a concurrent request recorded it
    except DatabaseError:
        logger.exception("could not record client usage")
