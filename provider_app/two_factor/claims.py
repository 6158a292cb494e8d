"""Deprecated: ``provider_app.two_factor.claims`` moved to :mod:`provider_app.internal.login`.

This path goes in the next release (CHANGELOG, Deprecated).
"""

from provider_app.internal.compat import deprecated_module

__getattr__ = deprecated_module(
    __name__,
    {
        "PREFETCHED_CONTEXT": "provider_app.internal.login",
        "SUPPORTED_CLAIMS": "provider_app.internal.login",
        "UNREDEEMED_LIFETIME": "provider_app.internal.login",
        "attach_to_id_token": "provider_app.internal.login",
        "context_for_token_request": "provider_app.internal.login",
        "id_token_claims": "provider_app.internal.login",
        "remember_for_code": "provider_app.internal.login",
        "code_digest": "provider_app.internal.tokens:digest",
    },
)
