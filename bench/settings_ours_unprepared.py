"""provider_app with PostgreSQL's prepared statements off (bench configuration
``ours-unprepared``): what ``DATABASE_PREPARED_STATEMENTS=0`` does to oauthsite's settings, that
is Django's defaults (client-side parameter binding, nothing prepared). No effect on SQLite."""

from __future__ import annotations

from bench.settings_ours import *  # noqa: F403
from bench.settings_ours import DATABASES

_PREPARED = ("server_side_binding", "prepare_threshold")
# New dictionaries: bench.settings_ours's stay as they are (a process may import both).
DATABASES = {
    **DATABASES,
    "default": {
        **DATABASES["default"],
        "OPTIONS": {k: v for k, v in DATABASES["default"].get("OPTIONS", {}).items() if k not in _PREPARED},
    },
}
