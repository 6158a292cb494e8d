"""P20: sign-in throttled per account and per IP with growing delays, shared through the database,
never telling whether an account exists, and never locking a real user out for good."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from provider_app.internal import known_devices
from provider_app.models import AuditEvent, KnownLoginDevice
from provider_app.throttling import delay
from tests.factories import USER_PASSWORD, UserFactory
from tests.provider_app.two_factor_helpers import code_at, make_device, password_step, second_factor_step

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"


def _login(client, username: str, password: str, ip: str = "198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _fail(client, username: str, times: int, ip: str = "198.51.100.7") -> None:
    for _ in range(times):
        response = _login(client, username, "not the password", ip)
        assert response.status_code in (200, 429)


def _normalised(response, username: str) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return html.replace(username, "USERNAME")


def test_p20_wrong_password_and_unknown_user_get_the_same_answer(client, user):
    wrong_password = _login(client, user.username, "not the password")
    unknown_user = _login(client, "nobody-here", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert _normalised(wrong_password, user.username) == _normalised(unknown_user, "nobody-here")


def test_p20_account_locked_after_failures_even_with_the_right_password(client, user):
    _fail(client, user.username, 5)
    locked = _login(client, user.username, USER_PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert int(locked["Retry-After"]) > 0
    assert locked["X-Frame-Options"] == "DENY"
    # Another account from the same address is not affected by this account's counter.
    other = _login(client, "someone-else", "not the password")
    assert other.status_code == 200


def test_p20_unknown_account_is_locked_exactly_like_a_real_one(client, user):
    _fail(client, user.username, 5, ip="198.51.100.1")
    _fail(client, "nobody-here", 5, ip="198.51.100.2")
    real = _login(client, user.username, "not the password", ip="198.51.100.1")
    unknown = _login(client, "nobody-here", "not the password", ip="198.51.100.2")
    assert real.status_code == unknown.status_code == 429
    assert _normalised(real, user.username) == _normalised(unknown, "nobody-here")


def test_p20_delays_grow_with_failures_and_end(client, user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _fail(client, user.username, 5)
        assert _login(client, user.username, USER_PASSWORD).status_code == 429
        clock.shift(timedelta(seconds=61))
        # The first lockout is over: one more failure locks again, for twice as long.
        _fail(client, user.username, 1)
        clock.shift(timedelta(seconds=61))
        assert _login(client, user.username, USER_PASSWORD).status_code == 429
        clock.shift(timedelta(seconds=60))
        assert _login(client, user.username, USER_PASSWORD).status_code == 302
    assert delay(5, 5) < delay(6, 5) < delay(7, 5)


def test_p20_lockout_is_capped_so_a_real_user_gets_back_in(client, user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(12):  # an attacker hammering the account, each time the lock opens
            _fail(client, user.username, 1, ip="203.0.113.66")
            clock.shift(delay(20, 5))
        assert _login(client, user.username, USER_PASSWORD, ip="192.0.2.10").status_code == 302
    assert delay(1000, 5) == timedelta(minutes=15)


def test_p20_address_locked_after_many_usernames(client, user):
    for number in range(20):
        _login(client, f"guess{number}", "not the password", ip="203.0.113.9")
    assert _login(client, user.username, USER_PASSWORD, ip="203.0.113.9").status_code == 429
    assert _login(client, user.username, USER_PASSWORD, ip="203.0.113.10").status_code == 302


def test_p20_counters_live_in_the_database_shared_by_every_worker(client, user):
    # What another worker process recorded (same table) locks this one out too.
    AccessAttempt.objects.create(
        username=user.username,
        ip_address="192.0.2.99",
        user_agent="another worker",
        failures_since_start=5,
        attempt_time=timezone.now(),
        get_data="",
        post_data="",
        http_accept="",
        path_info=LOGIN,
    )
    assert _login(client, user.username, USER_PASSWORD).status_code == 429


def test_p20_attempts_never_store_the_password(client, user):
    _login(client, user.username, "hunter2-not-the-password")
    attempt = AccessAttempt.objects.get()
    assert "hunter2-not-the-password" not in attempt.post_data


def test_p20_sign_in_events_are_audited(client, user):
    _fail(client, user.username, 5)
    _login(client, user.username, USER_PASSWORD)
    events = list(AuditEvent.objects.values_list("event", flat=True))
    assert events.count("login.failed") >= 5
    assert "login.locked_out" in events
    client.post(LOGIN, {"username": "x"}, REMOTE_ADDR="192.0.2.1")  # incomplete form: no crash
    good = _login(client, "someone", "x", ip="192.0.2.55")
    assert good.status_code == 200
    AccessAttempt.objects.all().delete()
    assert _login(client, user.username, USER_PASSWORD, ip="192.0.2.56").status_code == 302
    success = AuditEvent.objects.filter(event="login.succeeded").get()
    assert success.user == user and success.ip_address == "192.0.2.56"
    failed = AuditEvent.objects.filter(event="login.failed").first()
    assert "not the password" not in str(failed.details)


# Known devices (provider_app.known_devices): the account lock cannot keep the real user out.

REAL_IP = "192.0.2.10"


def _known_browser(user) -> str:
    """The device cookie the real user's browser got from an earlier sign-in."""
    browser = Client()
    assert _login(browser, user.username, USER_PASSWORD, ip=REAL_IP).status_code == 302
    return browser.cookies[known_devices.COOKIE].value


def _browser(cookie: str | None = None) -> Client:
    browser = Client()
    if cookie is not None:
        browser.cookies[known_devices.COOKIE] = cookie
    return browser


def test_p20_someone_who_knows_only_the_username_cannot_keep_the_user_out(user):
    cookie = _known_browser(user)
    attacker = Client()
    start = timezone.now()
    real_user_got_in = attacker_requests = counted_failures = 0
    with time_machine.travel(start, tick=False) as clock:
        next_sign_in = start + timedelta(minutes=17)
        while timezone.now() < start + timedelta(hours=24):
            # One wrong password each time the lock ends, each from a fresh address (a botnet).
            attacker_requests += 1
            address = f"203.0.113.{attacker_requests % 250}"
            response = _login(attacker, user.username, "not the password", ip=address)
            wait = int(response["Retry-After"]) if response.status_code == 429 else 0
            counted_failures += response.status_code == 200
            if timezone.now() >= next_sign_in:  # the real user signs in, every hour
                browser = _browser(cookie)
                assert _login(browser, user.username, USER_PASSWORD, ip=REAL_IP).status_code == 302
                real_user_got_in += 1
                cookie = browser.cookies[known_devices.COOKIE].value
                next_sign_in += timedelta(hours=1)
            clock.shift(timedelta(seconds=max(wait, 1)))
        # The attack still locks the account for every browser the account never signed in from.
        _fail(attacker, user.username, 1, ip="203.0.113.251")
        assert _login(Client(), user.username, USER_PASSWORD, ip="192.0.2.77").status_code == 429
    assert real_user_got_in == 24
    assert counted_failures < 24 * 4 + 10  # brute force stays throttled: about four guesses an hour


def test_p20_a_known_device_is_throttled_by_its_own_failures(user):
    cookie = _known_browser(user)
    _fail(_browser(cookie), user.username, 5, ip=REAL_IP)
    assert _login(_browser(cookie), user.username, USER_PASSWORD, ip=REAL_IP).status_code == 429
    # Those failures did not lock the account for the user's other known browsers.
    other = _known_browser_after_reset(user)
    assert _login(_browser(other), user.username, USER_PASSWORD, ip="192.0.2.11").status_code == 302


def _known_browser_after_reset(user) -> str:
    AccessAttempt.objects.all().delete()  # as after the account's own counter lapsed
    browser = Client()
    assert _login(browser, user.username, USER_PASSWORD, ip="192.0.2.11").status_code == 302
    return browser.cookies[known_devices.COOKIE].value


def test_p20_a_forged_or_foreign_device_cookie_counts_for_nothing(user):
    other_user = UserFactory()
    cookie = _known_browser(other_user)  # a real cookie, of another account
    _fail(Client(), user.username, 5, ip="203.0.113.5")
    for forged in (cookie, cookie[:-2] + "xx", "not-a-cookie"):
        assert _login(_browser(forged), user.username, USER_PASSWORD, ip=REAL_IP).status_code == 429


def test_p20_the_device_cookie_is_set_only_after_the_second_factor(client, user):
    device = make_device(user)
    assert password_step(client, user).status_code == 302
    assert known_devices.COOKIE not in client.cookies or not client.cookies[known_devices.COOKIE].value
    assert second_factor_step(client, code_at(device)).status_code == 302
    morsel = client.cookies[known_devices.COOKIE]
    assert morsel.value and morsel["httponly"] and morsel["samesite"] == "Lax"
    assert KnownLoginDevice.objects.filter(user=user).count() == 1
