"""Deprecated: ``provider_app.row_batch`` moved to :mod:`provider_app.internal.storage`.

This path goes in the next release (CHANGELOG, Deprecated).
"""

from provider_app.internal.compat import deprecated_module

__getattr__ = deprecated_module(__name__, "provider_app.internal.storage")
