"""resource_app: what a service installs to accept access tokens from an OAuth 2.0 provider.

Validates locally signed JWT access tokens (RFC 9068) against the provider's published keys, or
asks the provider (RFC 7662 introspection) with a short, bounded cache; scopes per view; RFC 6750
answers. Works with any standards-compliant provider; imports nothing from provider_app.
"""
