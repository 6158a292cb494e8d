"""The files service: introspects the opaque tokens it receives (RFC 7662) with its own client
credentials."""

from services.settings import service_settings

globals().update(
    service_settings(
        "files",
        MODE="introspection",
        AUDIENCE="http://127.0.0.1:8002/",
        SCOPE="files:read",
    )
)
