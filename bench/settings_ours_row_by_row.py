"""provider_app with the rows of a token response saved one by one (bench configuration
``ours-row-by-row``).

``bench.row_by_row`` connects a receiver that does nothing to the access token model's
``post_save``. provider_app writes a token response in one statement only when no receiver
outside provider_app listens to the save signals of the rows it writes
(``provider_app.internal.storage``); otherwise it takes its documented path, ``Model.save()`` row
after row in one transaction, signals included. That path is what this configuration measures.
"""

from __future__ import annotations

from bench.settings_ours import *  # noqa: F403
from bench.settings_ours import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.row_by_row.RowByRowConfig"]
