"""``manage.py clear_expired_tokens``: DOT's ``cleartokens`` rules for tables with millions of rows."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from provider_app.internal.cleanup import DEFAULT_BATCH_SIZE, clear_expired_tokens


class Command(BaseCommand):
    help = (
        "Delete expired and revoked tokens and expired grants (the rules of DOT's cleartokens) in "
        "short batches: each batch is its own transaction, memory holds one batch at most. "
        "Run it from cron."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"rows per transaction ({DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to sleep between batches (0)")

    def handle(self, *args, batch_size: int, pause: float, **options) -> None:
        report = clear_expired_tokens(
            batch_size=batch_size,
            pause=pause,
            log=lambda line: self.stdout.write(line) if options["verbosity"] > 1 else None,
        )
        self.stdout.write(report.summary())
