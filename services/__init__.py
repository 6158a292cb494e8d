"""The demo's small services: Django projects with only resource_app installed.

Each is a separate process on its own port, with its own settings and database, configured from
the environment (``SERVICE_*``, see :mod:`services.settings`), so the same code runs against any
provider. ``notes`` validates RFC 9068 JWT access tokens locally and calls ``files`` for the same
user by token exchange (RFC 8693); ``files`` introspects the opaque tokens it receives (RFC 7662).
``python3 dev.py demo`` starts both beside the provider and the client.
"""
