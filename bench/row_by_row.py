"""A receiver that does nothing, connected to the access token model's ``post_save``: with it,
provider_app saves the rows of a token response one by one (see bench/settings_ours_row_by_row.py).
"""

from __future__ import annotations

from django.apps import AppConfig

DISPATCH_UID = "bench.row_by_row.noop"


def noop(sender, **kwargs) -> None:
    """Nothing: its presence alone is what counts."""


def connect() -> None:
    from django.db.models.signals import post_save
    from oauth2_provider.models import get_access_token_model

    post_save.connect(noop, sender=get_access_token_model(), dispatch_uid=DISPATCH_UID)


def disconnect() -> None:
    from django.db.models.signals import post_save
    from oauth2_provider.models import get_access_token_model

    post_save.disconnect(sender=get_access_token_model(), dispatch_uid=DISPATCH_UID)


class RowByRowConfig(AppConfig):
    name = "bench.row_by_row"
    label = "bench_row_by_row"

    def ready(self) -> None:
        connect()
