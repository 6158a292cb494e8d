"""Removing expired tokens at scale: DOT's ``clear_expired()`` rules, in short keyset batches.

DOT's ``cleartokens`` counts the remaining rows of the whole table before and after every batch,
and finds each batch again from the start of the table, which grows slow on tables with millions of
rows. Here each batch takes the next primary keys after the last one seen (an index range scan),
re-checks the expiry condition while deleting them (a row refreshed in between stays), and commits
on its own: locks are held for one batch only, and memory holds one batch at most.

Deletion goes through Django's collector, so ``on_delete`` rules of every model that points at a
token (DOT's own, provider_app's, a project's) are honoured."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import models, router, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.settings import oauth2_settings

from provider_app.internal.login import UNREDEEMED_LIFETIME
from provider_app.models import AuthenticationContext, ExchangedToken

DEFAULT_BATCH_SIZE = 2000


@dataclass
class CleanupReport:
    """What one run removed, per kind of row, and how long its longest batch held locks."""

    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    longest_batch_seconds: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.deleted.items())
        return (
            f"deleted {kinds or 'nothing'} in {self.batches} batches "
            f"(longest {self.longest_batch_seconds * 1000:.0f} ms), {self.seconds:.1f} s"
        )


def expired_token_querysets(now=None) -> list[tuple[str, models.QuerySet]]:
    """The rows DOT's ``clear_expired()`` removes, in the order it removes them."""
    now = now or timezone.now()
    refresh_model = get_refresh_token_model()
    refresh_expire_at = None
    if delta := refresh_token_expire_timedelta():
        refresh_expire_at = now - delta
    grace = oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS or 0
    if grace < 0:
        raise ImproperlyConfigured("REFRESH_TOKEN_GRACE_PERIOD_SECONDS must not be negative")
    refresh_revoked_at = now - timedelta(seconds=grace)
    if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
        # Rotated (revoked) refresh tokens are how reuse is detected (RFC 9700 4.14.2): keep them
        # until they expire.
        refresh_revoked_at = refresh_expire_at
    querysets = []
    if refresh_revoked_at:
        querysets.append(
            ("revoked refresh tokens", refresh_model.objects.filter(revoked__lte=refresh_revoked_at))
        )
    querysets.append(
        (
            "orphaned refresh tokens",
            refresh_model.objects.filter(revoked__isnull=True, access_token__isnull=True),
        )
    )
    if refresh_expire_at:
        querysets.append(
            (
                "expired refresh tokens",
                refresh_model.objects.filter(
                    revoked__isnull=True, access_token__expires__lte=refresh_expire_at
                ),
            )
        )
    querysets += [
        (
            "expired access tokens",
            get_access_token_model().objects.filter(refresh_token__isnull=True, expires__lt=now),
        ),
        (
            "expired ID tokens",
            get_id_token_model().objects.filter(access_token__isnull=True, expires__lt=now),
        ),
        ("expired grants", get_grant_model().objects.filter(expires__lt=now)),
        # RFC 8693 records: an exchanged token lives no longer than its record (X4, X7).
        ("expired token exchanges", ExchangedToken.objects.filter(expires__lt=now)),
        # How the user authenticated (R2, P19): kept while the sign-in's refresh-token family or its
        # ID token lives (after the rows above went); a code never redeemed, after an hour.
        (
            "ended authentication contexts",
            AuthenticationContext.objects.filter(
                ~Exists(refresh_model.objects.filter(token_family=OuterRef("token_family"))),
                id_token__isnull=True,
                created__lt=now - UNREDEEMED_LIFETIME,
            ),
        ),
    ]
    return querysets


def clear_expired_tokens(
    *, batch_size: int = DEFAULT_BATCH_SIZE, pause: float = 0.0, log=None
) -> CleanupReport:
    """Delete every expired token, ``batch_size`` rows per transaction, ``pause`` seconds apart."""
    report = CleanupReport()
    started = time.monotonic()
    for kind, queryset in expired_token_querysets():
        report.deleted[kind] = _delete_in_batches(queryset, batch_size, pause, report)
        if log:
            log(f"{report.deleted[kind]} {kind} deleted")
    report.seconds = time.monotonic() - started
    return report


def _delete_in_batches(
    queryset: models.QuerySet, batch_size: int, pause: float, report: CleanupReport
) -> int:
    model = queryset.model
    database = router.db_for_write(model)
    last_pk = None
    deleted = 0
    while True:
        window = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        pks = list(window.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return deleted
        batch_started = time.monotonic()
        with transaction.atomic(using=database):
            # The condition is applied again: a row that changed since the read above stays.
            _, per_model = queryset.filter(pk__in=pks).delete()
        report.batches += 1
        report.longest_batch_seconds = max(report.longest_batch_seconds, time.monotonic() - batch_started)
        deleted += per_model.get(model._meta.label, 0)
        last_pk = pks[-1]
        if len(pks) < batch_size:
            return deleted
        if pause:
            time.sleep(pause)
