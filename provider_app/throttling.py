"""Login throttling (P20) on django-axes: per account and per IP, growing delays, one answer for all.

django-axes records failed sign-ins in the database (``AccessAttempt``), so every worker process
sees the same counts. :class:`ProgressiveLockoutHandler` replaces axes' fixed cool-off with growing
delays: once a counter reaches its limit, sign-in is refused for ``delay(failures)``, which doubles
with each further failure up to a cap, counted from the last failure:

* per account (username typed, whether or not such an account exists): ``ACCOUNT_FAILURE_LIMIT``;
* per IP address (any username): ``IP_FAILURE_LIMIT``, higher because of shared addresses (NAT).

Failures are forgotten ``AXES_COOLOFF_TIME`` after the last one, and a successful sign-in clears
them. The cap (15 minutes by default) is the way out for a real user whose account someone else is
hammering: they can sign in again after it, or reset their password (docs/security.md).

The answer never tells whether an account exists: unknown usernames are counted and locked exactly
like real ones, a wrong password and an unknown user get the same form error, and a locked request
gets the same page whatever the username (:func:`lockout_response`).
"""

from __future__ import annotations

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from provider_app import audit
from provider_app.app_settings import app_settings
from provider_app.security_headers import AUTH_PAGE_HEADERS


def throttle_setting(name: str) -> int:
    """``PROVIDER_APP_LOGIN_<name>`` (see :class:`provider_app.app_settings.AppSettings`)."""
    return int(getattr(app_settings, f"LOGIN_{name}"))


def delay(failures: int, limit: int) -> timedelta:
    """How long sign-in stays refused after ``failures`` failures against a counter of ``limit``."""
    if failures < limit:
        return timedelta(0)
    seconds = throttle_setting("FIRST_DELAY_SECONDS") * 2 ** min(failures - limit, 20)
    return timedelta(seconds=min(seconds, throttle_setting("MAX_DELAY_SECONDS")))


class ProgressiveLockoutHandler(AxesDatabaseHandler):
    """axes' database handler with per-parameter limits and delays growing with the failures.

    Requires ``AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]`` (that order) and
    ``AXES_LOCK_OUT_AT_FAILURE = False`` (this handler decides; axes' own one-limit rule stays off).
    """

    def is_locked(self, request, credentials=None) -> bool:
        return self.retry_after(request, credentials) > timedelta(0)

    def retry_after(self, request, credentials=None) -> timedelta:
        """How long the request's IP address or account must still wait (zero: not locked)."""
        limits = (throttle_setting("IP_FAILURE_LIMIT"), throttle_setting("ACCOUNT_FAILURE_LIMIT"))
        now = timezone.now()
        wait = timedelta(0)
        for attempts, limit in zip(self.get_user_attempts(request, credentials), limits, strict=False):
            counted = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            if counted["last"] is None:
                continue
            wait = max(wait, counted["last"] + delay(counted["failures"] or 0, limit) - now)
        return wait


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The page for a refused sign-in: the same for every username, with a way out (P20)."""
    from axes.handlers.proxy import AxesProxyHandler

    handler = AxesProxyHandler.get_implementation()
    wait = handler.retry_after(request, credentials) if hasattr(handler, "retry_after") else timedelta(0)
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    audit.record(audit.LOGIN_LOCKED_OUT, request=request, retry_after_minutes=minutes)
    response = render(
        request,
        "provider_app/login_throttled.html",
        {"minutes": minutes, "password_reset_url": app_settings.PASSWORD_RESET_URL},
        status=429,
    )
    response["Retry-After"] = str(max(1, int(wait.total_seconds())))
    for name, value in AUTH_PAGE_HEADERS.items():
        response[name] = value
    return response
