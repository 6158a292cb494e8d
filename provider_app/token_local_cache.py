"""Deprecated: ``provider_app.token_local_cache`` moved to :mod:`provider_app.internal.local_cache`.

This path goes in the next release (CHANGELOG, Deprecated).
"""

from provider_app.internal.compat import deprecated_module

__getattr__ = deprecated_module(
    __name__,
    {
        name: "provider_app.internal.local_cache"
        for name in (
            "CHANNEL",
            "FLUSH",
            "LocalTokenCache",
            "channel",
            "close",
            "current",
            "for_cache",
            "publish",
        )
    }
    | {"flush_all": "provider_app.internal.token_cache"},
)
