"""Login throttling (P20) on django-axes: per account and per IP, growing delays, one answer for all.

django-axes records failed sign-ins in the database (``AccessAttempt``), so every worker process
sees the same counts. :class:`ProgressiveLockoutHandler` replaces axes' fixed cool-off with growing
delays: once a counter reaches its limit, sign-in is refused for ``delay(failures)``, which doubles
with each further failure up to a cap, counted from the last failure:

* per account (username typed, whether or not such an account exists): ``ACCOUNT_FAILURE_LIMIT``;
* per IP address (any username): ``IP_FAILURE_LIMIT``, higher because of shared addresses (NAT).

Failures are forgotten ``AXES_COOLOFF_TIME`` after the last one, and a successful sign-in clears
them. From a browser where the account signed in before (:mod:`provider_app.internal.known_devices`), the
account's counter is replaced by that device's own, so that someone who only knows the username
cannot keep the real user out; elsewhere the cap (15 minutes by default) and the password reset are
the way out (docs/security.md).

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
from provider_app.internal import known_devices
from provider_app.internal.http import AUTH_PAGE_HEADERS


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
        """How long the request's IP address and account (or known device) must still wait (zero: none)."""
        ip_limit, account_limit = (
            throttle_setting("IP_FAILURE_LIMIT"),
            throttle_setting("ACCOUNT_FAILURE_LIMIT"),
        )
        now = timezone.now()
        by_ip, by_account = self.get_user_attempts(request, credentials)
        wait = _wait(by_ip, ip_limit, now)
        device = known_devices.device_for(request, _username(request, credentials))
        if device is None:
            return max(wait, _wait(by_account, account_limit, now))
        # A browser where this account signed in: its own failures, not the account's (P20).
        if device.last_failure is not None:
            wait = max(wait, device.last_failure + delay(device.failures, account_limit) - now)
        return wait

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return  # a try during a wait does not extend it
        device = known_devices.device_for(request, _username(request, credentials))
        if device is not None:
            known_devices.record_failure(device)

    def reset_user_attempts(self, request, credentials=None) -> int:
        # A sign-in from a known device clears that device's failures (known_devices.remember),
        # never the account's: the attacker's count of guesses from elsewhere is not reset.
        if known_devices.device_for(request, _username(request, credentials)) is not None:
            return 0
        return super().reset_user_attempts(request, credentials)


def _username(request, credentials) -> str | None:
    from axes.helpers import get_client_username

    return get_client_username(request, credentials)


def _wait(attempts, limit: int, now) -> timedelta:
    counted = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    if counted["last"] is None:
        return timedelta(0)
    return counted["last"] + delay(counted["failures"] or 0, limit) - now


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
