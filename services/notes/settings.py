"""The notes service: validates RFC 9068 JWT access tokens locally (no call to the provider per
request) and calls the files service for the same user by token exchange (RFC 8693)."""

from services.settings import service_settings

globals().update(
    service_settings(
        "notes",
        MODE="jwt",
        AUDIENCE="http://127.0.0.1:8001/",
        SCOPE="notes:read",
        NEXT_AUDIENCE="http://127.0.0.1:8002/",
        NEXT_SCOPE="files:read",
    )
)
