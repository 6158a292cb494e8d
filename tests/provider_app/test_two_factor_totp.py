"""TOTP with django-otp: RFC 6238 test vectors, one step of drift, replay, throttling (P21)."""

from __future__ import annotations

import pytest
import time_machine
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.two_factor.devices import verify_second_factor, verify_totp
from tests.provider_app.two_factor_helpers import RFC6238_SHA1_KEY_HEX, code_at, make_device

pytestmark = pytest.mark.django_db

# RFC 6238 Appendix B, SHA-1 rows: (Unix time, 8-digit TOTP).
RFC6238_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]

T0 = 1_900_000_000  # 10 s into a 30 s step


@pytest.mark.parametrize(("unix_time", "expected"), RFC6238_SHA1_VECTORS)
def test_p21_rfc6238_sha1_vectors_with_django_otp_totp(unix_time, expected):
    totp = TOTP(bytes.fromhex(RFC6238_SHA1_KEY_HEX), step=30, t0=0, digits=8)
    totp.time = unix_time
    assert f"{totp.token():08d}" == expected


@pytest.mark.parametrize(("unix_time", "expected"), RFC6238_SHA1_VECTORS)
def test_p21_rfc6238_vectors_verify_through_the_provider_device(user, unix_time, expected):
    device = TOTPDevice.objects.create(user=user, name="rfc", key=RFC6238_SHA1_KEY_HEX, digits=8)
    with time_machine.travel(unix_time, tick=False):
        assert verify_totp(user, expected).ok
        device.refresh_from_db()
        assert device.last_t == unix_time // 30


def test_p21_thirty_second_step(user):
    device = make_device(user)
    assert device.step == 30
    with time_machine.travel(T0, tick=False):
        now = code_at(device)
    with time_machine.travel(T0 + 19, tick=False):  # same step (T0 is 10 s into it)
        assert code_at(device) == now
    with time_machine.travel(T0 + 20, tick=False):  # next step
        assert code_at(device) != now


@pytest.mark.parametrize("steps", [-1, 1])
def test_p21_one_step_of_drift_is_accepted(user, steps):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        assert verify_totp(user, code_at(device, steps=steps)).ok


@pytest.mark.parametrize("steps", [-2, 2, -3, 3])
def test_p21_two_steps_of_drift_are_refused(user, steps):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        assert not verify_totp(user, code_at(device, steps=steps)).ok


def test_p21_a_stored_wider_window_is_not_honoured(user):
    """A device saved with more tolerance or a learned drift still gets one step, no more."""
    device = make_device(user)
    TOTPDevice.objects.filter(pk=device.pk).update(tolerance=5, drift=3)
    with time_machine.travel(T0, tick=False):
        assert not verify_totp(user, code_at(device, steps=3)).ok
    with time_machine.travel(T0 + 60, tick=False):
        assert not verify_totp(user, code_at(device, steps=-2)).ok
    with time_machine.travel(T0 + 120, tick=False):
        assert verify_totp(user, code_at(device)).ok
    device.refresh_from_db()
    assert device.tolerance == 1 and device.drift == 0


def test_p21_replayed_code_is_refused(user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        code = code_at(device)
        assert verify_totp(user, code).ok
    with time_machine.travel(T0 + 5, tick=False):
        assert not verify_totp(user, code).ok


def test_p21_an_older_code_after_a_newer_one_is_refused(user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        assert verify_totp(user, code_at(device, steps=1)).ok  # the next step's code
        assert not verify_totp(user, code_at(device)).ok  # the current one is older


def test_p21_wrong_codes_are_throttled_with_growing_delays(user):
    device = make_device(user)
    wrong = "000000" if code_at(device, T0) != "000000" else "111111"
    for failures, delay in enumerate([1, 2, 4, 8], start=1):
        start = T0 + 100 * failures
        with time_machine.travel(start, tick=False):
            assert not verify_totp(user, wrong).ok
            device.refresh_from_db()
            assert device.throttling_failure_count == failures
        with time_machine.travel(start + delay - 0.5, tick=False):
            blocked = verify_totp(user, code_at(device))
            assert not blocked.ok and blocked.throttled_until is not None
    with time_machine.travel(T0 + 400 + 8, tick=False):
        assert verify_totp(user, code_at(device)).ok
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_p21_garbage_counts_as_a_failure(user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        assert not verify_second_factor(user, "not a code").ok
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_unconfirmed_device_never_signs_in(user):
    device = make_device(user, confirmed=False)
    with time_machine.travel(T0, tick=False):
        assert not verify_second_factor(user, code_at(device)).ok
        assert verify_totp(user, code_at(device), confirmed=False, device_id=device.pk).ok


def test_codes_of_another_users_device_are_refused(user, django_user_model):
    other = django_user_model.objects.create_user("someone-else", password="x" * 20)
    device = make_device(other)
    with time_machine.travel(T0, tick=False):
        assert not verify_totp(user, code_at(device)).ok
