"""The security audit log: :func:`record` writes an :class:`AuditEvent` row and a log line.

Every security event of provider_app goes through here (logins and failures, second-factor
events, consents given and revoked, tokens issued and revoked, code replays and refresh-token
reuse, client secret rotations). The row and the line say who, what, when and from which IP.

Nothing secret is ever written: detail keys that name a credential (password, secret, token,
code, verifier, ...) are replaced by ``"[redacted]"`` unless they only identify it (``..._id``),
and values are shortened and stripped of control characters so a log line cannot be forged.

Audit receivers: sign-in events (Django's auth signals) and provider_app's own signals
# (provider_app.signals), all connected in ProviderAppConfig.ready().

The password step's signals come from ``authenticate()``/``login()``/``logout()``; lockouts are
recorded by :func:`provider_app.throttling.lockout_response`; two-factor events by
``provider_app.two_factor`` itself; token events by the validator.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import DatabaseError, transaction

# --------------------------------------------------------------------------------------------------
# The security audit log: :func:`record` writes an :class:`AuditEvent` row and a log line.
# --------------------------------------------------------------------------------------------------

logger = logging.getLogger("provider_app.audit")

# Event names used by provider_app; other code may record its own names ("area.what_happened").
LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
LOGIN_LOCKED_OUT = "login.locked_out"
LOGOUT = "logout"
CONSENT_GIVEN = "consent.given"
CONSENT_DENIED = "consent.denied"
CONSENT_REVOKED = "consent.revoked"
TOKEN_ISSUED = "token.issued"
TOKEN_REFRESHED = "token.refreshed"
TOKEN_EXCHANGED = "token.exchanged"
TOKEN_REVOKED = "token.revoked"
CODE_REPLAYED = "code.replayed"
REFRESH_TOKEN_REUSED = "refresh_token.reused"
CLIENT_SECRET_ROTATED = "client.secret_rotated"
CLIENT_ACCESS_REVOKED = "client.access_revoked"
TWO_FACTOR_DEVICE_ADDED = "two_factor.device_added"
TWO_FACTOR_DEVICE_REMOVED = "two_factor.device_removed"
TWO_FACTOR_RECOVERY_CODES_ISSUED = "two_factor.recovery_codes_issued"
TWO_FACTOR_VERIFIED = "two_factor.verified"
TWO_FACTOR_FAILED = "two_factor.failed"
TWO_FACTOR_REAUTHENTICATED = "two_factor.reauthenticated"

#: Events that deserve a WARNING (attacks or their symptoms); everything else is INFO.
WARNING_SUFFIXES = (".failed", ".replayed", ".reused", ".locked_out")

_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|code|verifier|assertion|otp|recovery|credential|key|cookie|session",
    re.IGNORECASE,
)
# Keys that only identify or describe a credential (its database id, its type) are not secrets.
_IDENTIFYING_SUFFIXES = ("_id", "_ids", "_count", "_type", "_types", "_method", "_methods", "_reason")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_VALUE_LENGTH = 200
REDACTED = "[redacted]"


def record(event: str, *, request=None, user=None, application=None, batch=None, **details: Any) -> None:
    """Write one audit event (row + log line on ``provider_app.audit``).

    ``request`` gives the IP address, the user agent and, if ``user`` is not given, the signed-in
    user. ``details`` must be JSON-serialisable identifiers and reasons, never credentials; keys
    that look like credentials are redacted anyway.

    By default it never raises: the row is inserted in a savepoint and a database error is logged.
    With ``batch`` (a :class:`provider_app.internal.storage.RowBatch`) the row is added to it and written
    with the caller's other rows, in the caller's transaction and without a savepoint: a database
    error propagates, so what the caller writes with it (the tokens of a token response) is rolled
    back rather than stored without its event.
    """
    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and getattr(request_user, "is_authenticated", False):
            user = request_user
    fields = {
        "event": _clean(event)[:64],
        "user": user if _is_saved(user) else None,
        "username": _clean(_username(user))[:150],
        "application": application if _is_saved(application) else None,
        "client_id": _clean(getattr(application, "client_id", "") or "")[:100],
        "ip_address": client_ip(request),
        "user_agent": _clean(request.META.get("HTTP_USER_AGENT", ""))[:200] if request is not None else "",
        "details": scrub(details),
    }
    _log(fields)
    if batch is not None:
        from provider_app.models import AuditEvent

        batch.insert(AuditEvent(**fields))
    else:
        _save(fields)


def client_ip(request) -> str | None:
    """The client's IP address: ``REMOTE_ADDR`` (behind a proxy, let a middleware set it)."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or None
    if address is None:
        return None
    try:
        validate_ipv46_address(address)
    except ValidationError:
        return None
    return address


def scrub(details: dict[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of ``details`` with credential-like keys redacted and values shortened."""
    return {_clean(str(key))[:64]: _scrub_value(str(key), value) for key, value in details.items()}


def _scrub_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and not key.lower().endswith(_IDENTIFYING_SUFFIXES):
        return REDACTED
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return scrub(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub_value(key, item) for item in list(value)[:50]]
    return _clean(str(value))[:MAX_VALUE_LENGTH]


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _username(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return str(user.get_username())


def _is_saved(instance) -> bool:
    return instance is not None and getattr(instance, "pk", None) is not None


def _log(fields: dict[str, Any]) -> None:
    level = logging.WARNING if fields["event"].endswith(WARNING_SUFFIXES) else logging.INFO
    logger.log(
        level,
        "%s user=%s client=%s ip=%s details=%s",
        fields["event"],
        fields["username"] or "-",
        fields["client_id"] or "-",
        fields["ip_address"] or "-",
        fields["details"],
        extra={
            "audit_event": fields["event"],
            "audit_user": fields["username"],
            "audit_client_id": fields["client_id"],
            "audit_ip": fields["ip_address"],
        },
    )


def _save(fields: dict[str, Any]) -> None:
    from provider_app.models import AuditEvent

    try:
        # A savepoint: a failed insert must not break the caller's transaction.
        with transaction.atomic():
            AuditEvent.objects.create(**fields)
    except DatabaseError:
        logger.exception("could not store audit event %s", fields["event"])


# --------------------------------------------------------------------------------------------------
# Audit receivers: sign-in events (Django's auth signals) and provider_app's own signals
# (provider_app.signals), all connected in ProviderAppConfig.ready().
# --------------------------------------------------------------------------------------------------


def on_logged_in(sender, request, user, **kwargs) -> None:
    record(LOGIN_SUCCEEDED, request=request, user=user)


def on_logged_out(sender, request, user, **kwargs) -> None:
    record(LOGOUT, request=request, user=user)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already replaced the password in ``credentials``; only the username is kept,
    # linked to the account when one exists (the page itself never says whether it does).
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")
    user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    locked_out = bool(getattr(request, "axes_locked_out", False))
    record(
        LOGIN_FAILED,
        request=request,
        user=user,
        attempted_username=username[:150],
        throttled=locked_out,
    )


def on_code_replayed(sender, request, redemption, revoked_access_token_count, **kwargs) -> None:
    ids = {"redeemed_code_id": redemption.pk}
    _record_revocation(CODE_REPLAYED, request, redemption, revoked_access_token_count, ids)


def on_refresh_token_reused(sender, request, refresh_token, revoked_access_token_count, **kwargs) -> None:
    ids = {"refresh_token_id": refresh_token.pk, "token_family_id": str(refresh_token.token_family)}
    _record_revocation(REFRESH_TOKEN_REUSED, request, refresh_token, revoked_access_token_count, ids)


def _record_revocation(event: str, request, source, revoked: int, ids: dict[str, Any]) -> None:
    """An attack answered by revoking what ``source`` (a redeemed code, a refresh token) issued."""
    record(
        event,
        request=request,
        user=source.user,
        application=source.application,
        **ids,
        revoked_access_token_count=revoked,
    )


def on_access_revoked(sender, request, application, by, **kwargs) -> None:
    if by == "user":  # the connected-apps page: the client's access, its consent and its tokens
        record(CLIENT_ACCESS_REVOKED, request=request, application=application)
        record(CONSENT_REVOKED, request=request, application=application)
        count = kwargs.get("revoked_access_token_count", 0)
        record(TOKEN_REVOKED, request=request, application=application, by="user", count=count)
    else:  # RFC 7009: the client asked
        hint = kwargs.get("token_type_hint", "")
        record(TOKEN_REVOKED, request=request, application=application, hint=hint)
