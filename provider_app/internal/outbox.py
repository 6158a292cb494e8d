"""The outbox: messages to clients and services, delivered reliably by a worker (L7, L8, E4-E6).

A change that must be told to someone (a provider session ended: a logout token to each client it
signed in to) writes an :class:`~provider_app.models.OutboundDelivery` row **in its own
transaction** (:func:`enqueue`, E4), so the message exists exactly when the change does. After the
commit, a task of Django's tasks framework (``django.tasks`` on Django 6, the ``django-tasks``
backport on 5.2) sends it: never the request that caused it (L7). A failed attempt (no answer in
``PROVIDER_APP_DELIVERY_TIMEOUT_SECONDS``, a network error, any status but 200/202/204) is retried
with exponential backoff until ``expires_at`` (L8, E5); a task lost on the way is picked up by
:func:`deliver_due` (``manage.py provider_app_deliver``). An attempt claims its row with a lease
(one UPDATE), so two workers do not send the same message at once; if one dies mid-send, the lease
ends and another sends again: receivers act once per ``jti`` (OIDC BCL 2.6 step 7, RFC 8417 2.2),
so a repeat is harmless.

What rests in the table is the claims, never a signed token: each attempt signs them with the
current key (R11) and a fresh ``iat``/``exp``, keeping the ``jti``. A token signed when the change
happened would be refused as stale by a receiver that was down for longer than its freshness
window, and a signed logout token is a credential that ends sessions.

Each :data:`KINDS` entry says how a message is sent: the back-channel logout token as a form field
(OIDC BCL 2.5); a Security Event Token (RFC 8417) for a resource server is the body itself,
``application/secevent+jwt`` (RFC 8935 2), with ``typ: secevent+jwt``
(:mod:`provider_app.internal.revocation_events`). Each kind signs with its own lifetime.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from django.db import router, transaction
from django.db.models import QuerySet
from django.utils import timezone
from jwcrypto import jwt

from provider_app.app_settings import app_settings
from provider_app.internal import deadline, signing_keys
from provider_app.models import OutboundDelivery

try:  # Django 6
    from django.tasks import task, task_backends
except ImportError:  # Django 5.2: the backport
    from django_tasks import task, task_backends

logger = logging.getLogger("provider_app")

#: An attempt holds its row this long beyond its timeout; then another worker may try again.
LEASE_MARGIN = timedelta(seconds=30)
#: OIDC BCL 2.8: 200 (204 accepted too, as many receivers answer); RFC 8935 2.2: 202 for a SET.
DELIVERED_STATUSES = (200, 202, 204)


@dataclass(frozen=True)
class DeliveryKind:
    """How a message of one kind is sent: the JWT's ``typ``, where the JWT goes in the POST, and the
    ``app_settings`` name of the signed JWT's lifetime (``iat`` to ``exp``) in seconds."""

    typ: str
    content_type: str
    lifetime_setting: str
    form_field: str = ""  # empty: the JWT is the whole body

    def lifetime(self) -> int:
        return int(getattr(app_settings, self.lifetime_setting))

    def body(self, token: str) -> bytes:
        if self.form_field:
            return urlencode({self.form_field: token}).encode()
        return token.encode()


KINDS = {
    # OIDC BCL 2.4 (typ, RFC 8725 3.11) and 2.5 (a form POST of logout_token).
    OutboundDelivery.BACKCHANNEL_LOGOUT: DeliveryKind(
        typ="logout+jwt",
        content_type="application/x-www-form-urlencoded",
        lifetime_setting="LOGOUT_TOKEN_LIFETIME_SECONDS",
        form_field="logout_token",
    ),
    # RFC 8417 2.3 (typ) and RFC 8935 2 (the SET is the body, application/secevent+jwt).
    OutboundDelivery.SECURITY_EVENT: DeliveryKind(
        typ="secevent+jwt",
        content_type="application/secevent+jwt",
        lifetime_setting="SECURITY_EVENT_LIFETIME_SECONDS",
    ),
}


# -- writing: with the change ------------------------------------------------------------------------


def enqueue(
    kind: str,
    target_url: str,
    claims: dict,
    *,
    lifetime: timedelta | None = None,
    expires_at: datetime | None = None,
    application=None,
) -> OutboundDelivery:
    """Write a delivery in the caller's transaction (E4); its task is enqueued once that commits.
    It is attempted until ``expires_at`` (or for ``lifetime`` from now; E5)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown delivery kind {kind!r}.")
    now = timezone.now()
    if expires_at is None:
        if lifetime is None:
            raise ValueError("A delivery needs a lifetime or an expiry.")
        expires_at = now + lifetime
    delivery = OutboundDelivery.objects.create(
        kind=kind,
        application=application,
        target_url=target_url,
        claims=claims,
        next_attempt_at=now,
        expires_at=expires_at,
    )
    transaction.on_commit(
        lambda: schedule(delivery.pk), using=router.db_for_write(OutboundDelivery), robust=True
    )
    return delivery


def schedule(delivery_id: int, when: datetime | None = None) -> bool:
    """Hand one delivery to the task backend (``PROVIDER_APP_DELIVERY_TASK_BACKEND``); ``False``
    when it cannot take it: the row stays due, for the next :func:`deliver_due`."""
    backend = task_backends[app_settings.DELIVERY_TASK_BACKEND]
    if type(backend).__name__ == "ImmediateBackend":
        # L7: it would send in the request that ended the session (provider_app.W020 says so).
        return False
    options: dict = {"backend": app_settings.DELIVERY_TASK_BACKEND}
    if when is not None:
        if not backend.supports_defer:
            return False
        options["run_after"] = when
    try:
        deliver_task.using(**options).enqueue(delivery_id)
    except Exception:  # a queue that is down loses no message: the row is still due
        logger.exception("provider_app: delivery %s could not be enqueued", delivery_id)
        return False
    return True


# -- sending: in the worker ----------------------------------------------------------------------------


@task()
def deliver_task(delivery_id: int) -> str:
    """The task: one attempt at one delivery (and the next one scheduled if it fails)."""
    return deliver(delivery_id)


def deliver_due(limit: int = 1000) -> int:
    """Attempt every delivery that is due now (a lost or failed task, a backend without deferred
    tasks, cron); returns how many were delivered."""
    due = OutboundDelivery.objects.filter(
        state__in=[OutboundDelivery.PENDING, OutboundDelivery.FAILED], next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    return sum(deliver(pk) == OutboundDelivery.DELIVERED for pk in ids)


def deliver(delivery_id: int) -> str:
    """One attempt if the delivery is due and nobody else is attempting it; returns its state.

    The attempt takes the row with a lease (``next_attempt_at`` moved past the attempt's end, one
    UPDATE conditional on the value read), and writes its outcome only while it still holds that
    lease: a worker that outlived its lease never overwrites the outcome of the one after it."""
    now = timezone.now()
    delivery = OutboundDelivery.objects.filter(
        pk=delivery_id,
        state__in=[OutboundDelivery.PENDING, OutboundDelivery.FAILED],
        next_attempt_at__lte=now,
    ).first()
    if delivery is None:
        current = OutboundDelivery.objects.filter(pk=delivery_id).values_list("state", flat=True).first()
        return current or "gone"
    lease = now + timedelta(seconds=app_settings.DELIVERY_TIMEOUT_SECONDS) * 2 + LEASE_MARGIN
    claimed = OutboundDelivery.objects.filter(
        pk=delivery.pk, state=delivery.state, next_attempt_at=delivery.next_attempt_at
    ).update(next_attempt_at=lease)
    if not claimed:  # another worker took it meanwhile
        return (
            OutboundDelivery.objects.filter(pk=delivery_id).values_list("state", flat=True).first() or "gone"
        )
    # E5: the last attempt is the one scheduled at the expiry; none is made after it.
    last = delivery.next_attempt_at >= delivery.expires_at
    if delivery.expires_at <= now and not last:
        return _finish(
            delivery, lease, OutboundDelivery.EXPIRED, error=delivery.last_error or "expired unsent"
        )
    error = _post(delivery)
    if error is None:
        return _finish(delivery, lease, OutboundDelivery.DELIVERED)
    if last:
        return _finish(delivery, lease, OutboundDelivery.EXPIRED, error=error, attempted=True)
    return _failed(delivery, lease, error)


def _post(delivery: OutboundDelivery) -> str | None:
    """POST the message; ``None`` when the receiver took it, else what went wrong (no secret)."""
    kind = KINDS[delivery.kind]
    timeout = app_settings.DELIVERY_TIMEOUT_SECONDS
    body = kind.body(sign(delivery.claims, typ=kind.typ, lifetime=kind.lifetime()))
    # A total deadline, status line and headers included: a receiver that answers one byte at a
    # time, each within the read timeout, cannot hold a worker (socket timeouts bound each read).
    limit = deadline.Deadline(timeout * 2)
    try:
        with limit, deadline.mount(requests.Session()) as session:
            response = session.post(
                delivery.target_url,
                data=body,
                headers={"Content-Type": kind.content_type, "Accept": "application/json"},
                timeout=(timeout, timeout),
                allow_redirects=False,  # a redirect is not a delivery, and must not carry the token on
                stream=True,  # only the status counts: a receiver's body is never read into memory
            )
            response.close()
    except requests.RequestException as error:
        return "DeadlineExceeded" if limit.expired else type(error).__name__
    if response.status_code in DELIVERED_STATUSES:
        return None
    return f"HTTP {response.status_code}"


def sign(claims: dict, *, typ: str, lifetime: int) -> str:
    """The claims as a JWT signed now with the current key, ``iat``/``exp`` fresh (OIDC BCL 2.4,
    RFC 8417 2.2), ``exp`` ``lifetime`` seconds after ``iat``."""
    key = signing_keys.signing_key()
    now = int(timezone.now().timestamp())
    payload = {**claims, "iat": now, "exp": now + lifetime}
    header = {"typ": typ, "alg": signing_keys.ALGORITHM, "kid": key.thumbprint()}
    token = jwt.JWT(header=json.dumps(header), claims=json.dumps(payload))
    token.make_signed_token(key)
    return token.serialize()


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: doubled each time, capped (L8, E5)."""
    base, cap = app_settings.DELIVERY_BACKOFF_SECONDS, app_settings.DELIVERY_MAX_BACKOFF_SECONDS
    return timedelta(seconds=min(cap, base * 2 ** min(attempts - 1, 32)))


def _failed(delivery: OutboundDelivery, lease: datetime, error: str) -> str:
    attempts = delivery.attempts + 1
    next_attempt = timezone.now() + backoff(attempts)
    if next_attempt >= delivery.expires_at:
        # E5: no attempt once the message is useless; one last try at the expiry.
        next_attempt = delivery.expires_at
    held = OutboundDelivery.objects.filter(pk=delivery.pk, next_attempt_at=lease).update(
        state=OutboundDelivery.FAILED, attempts=attempts, next_attempt_at=next_attempt, last_error=error
    )
    logger.warning(
        "provider_app: delivery %s to %s failed (%s), attempt %d",
        delivery.pk,
        delivery.target_url,
        error,
        attempts,
    )
    if held:
        schedule(delivery.pk, next_attempt)
    return OutboundDelivery.FAILED


def _finish(
    delivery: OutboundDelivery, lease: datetime, state: str, error: str = "", *, attempted: bool = False
) -> str:
    now = timezone.now()
    values = {"state": state, "next_attempt_at": now, "last_error": error}
    if state == OutboundDelivery.DELIVERED or attempted:
        values["attempts"] = delivery.attempts + 1
    if state == OutboundDelivery.DELIVERED:
        values["delivered_at"] = now
    OutboundDelivery.objects.filter(pk=delivery.pk, next_attempt_at=lease).update(**values)
    return state


# -- operators ------------------------------------------------------------------------------------------


def retry_now(deliveries: QuerySet) -> int:
    """Make deliveries due now (E6); an expired one gets another ``expiry`` of attempts. Returns how
    many were handed to the task backend or left due for ``provider_app_deliver``."""
    now, count = timezone.now(), 0
    for delivery in deliveries.exclude(state=OutboundDelivery.DELIVERED):
        lifetime = max(delivery.expires_at - delivery.created, timedelta(minutes=5))
        OutboundDelivery.objects.filter(pk=delivery.pk).update(
            state=OutboundDelivery.PENDING if delivery.state == OutboundDelivery.EXPIRED else delivery.state,
            next_attempt_at=now,
            expires_at=max(delivery.expires_at, now + lifetime),
        )
        schedule(delivery.pk)
        count += 1
    return count
