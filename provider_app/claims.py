"""Deprecated: ``provider_app.claims`` moved to :mod:`provider_app.oauth2_validator`.

This path goes in the next release (CHANGELOG, Deprecated).
"""

from provider_app.internal.compat import deprecated_module

__getattr__ = deprecated_module(__name__, "provider_app.oauth2_validator")
