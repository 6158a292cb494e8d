"""provider_app without the shared token cache, hence without the per-process copies either
(bench configuration ``ours-no-cache``): tokens and clients are read from the database on every
request. Django's cache stays configured for everything else (sessions, throttling)."""

from __future__ import annotations

from bench.settings_ours import *  # noqa: F403

PROVIDER_APP_TOKEN_CACHE = None
