"""provider_app without the per-process copies of tokens and clients (bench configuration
``ours-no-local``): every bearer lookup asks the shared cache (Redis) at least."""

from __future__ import annotations

from bench.settings_ours import *  # noqa: F403

PROVIDER_APP_TOKEN_LOCAL_CACHE = False
