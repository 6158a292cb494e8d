"""The two-step login: password, then the second factor (P21), and what the session holds between."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY

from provider_app.internal.login import AUTHENTICATION_KEY
from provider_app.two_factor.session import PENDING_KEY
from tests.factories import USER_PASSWORD
from tests.provider_app.two_factor_helpers import (
    code_at,
    login_two_factor,
    make_device,
    password_step,
    second_factor_step,
)

pytestmark = pytest.mark.django_db

T0 = 1_900_000_000  # a fixed instant, well inside a 30 s step (1_900_000_000 % 30 == 10)


def test_user_without_device_is_signed_in_by_the_password(client, user):
    response = password_step(client, user, "/account/two-factor/")
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.session[AUTHENTICATION_KEY]["methods"] == ["pwd"]


def test_user_with_device_needs_the_second_step(client, user):
    device = make_device(user)
    response = password_step(client, user, "/account/two-factor/")
    assert response.status_code == 302
    assert response["Location"] == "/account/two-factor/verify/"
    assert SESSION_KEY not in client.session  # not signed in yet
    response = second_factor_step(client, code_at(device))
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.session[AUTHENTICATION_KEY]["methods"] == ["pwd", "otp"]
    assert PENDING_KEY not in client.session


def test_p21_nothing_secret_in_the_session_between_the_steps(client, user):
    make_device(user)
    password_step(client, user)
    session = dict(client.session.items())
    assert set(session) == {PENDING_KEY}, session
    serialized = repr(session)
    assert USER_PASSWORD not in serialized
    assert user.password not in serialized  # not even the hash
    assert SESSION_KEY not in session


def test_p21_second_step_expires(client, user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 301, tick=False):
        response = second_factor_step(client, code_at(device))
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    assert SESSION_KEY not in client.session
    assert PENDING_KEY not in client.session


def test_second_step_within_five_minutes_works(client, user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 290, tick=False):
        response = second_factor_step(client, code_at(device))
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_second_step_without_password_step_goes_back_to_login(client, user):
    device = make_device(user)
    response = second_factor_step(client, code_at(device))
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    assert SESSION_KEY not in client.session


def test_forged_pending_marker_is_refused(client, user):
    device = make_device(user)
    session = client.session
    session[PENDING_KEY] = f'{{"uid": "{user.pk}"}}'
    session.save()
    response = second_factor_step(client, code_at(device))
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    assert SESSION_KEY not in client.session


def test_wrong_password_never_reaches_the_second_step(client, user):
    make_device(user)
    response = client.post("/account/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert PENDING_KEY not in client.session


def test_p21_wrong_codes_are_throttled_with_growing_delays(client, user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
        wrong = f"{(int(code_at(device)) + 1) % 1_000_000:06d}"
        first = second_factor_step(client, wrong)
        assert "not right" in first.content.decode()
        # Right code, but within the 1 s delay after one failure: refused.
        refused = second_factor_step(client, code_at(device))
        assert "Please wait" in refused.content.decode()
        assert SESSION_KEY not in client.session
    with time_machine.travel(T0 + 2, tick=False):
        second_factor_step(client, wrong)  # second failure: 2 s delay
    with time_machine.travel(T0 + 3, tick=False):
        assert "Please wait" in second_factor_step(client, code_at(device)).content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 2
    with time_machine.travel(T0 + 5, tick=False):
        response = second_factor_step(client, code_at(device))
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_p21_used_code_is_never_accepted_again(client, user, django_user_model):
    from django.test import Client

    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        assert login_two_factor(client, user, device).status_code == 302
        other = Client()
        password_step(other, user)
        response = second_factor_step(other, code_at(device))
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert SESSION_KEY not in other.session


def test_step_up_for_a_signed_in_user(client, user):
    device = make_device(user)
    client.force_login(user)
    assert client.session[AUTHENTICATION_KEY]["methods"] == ["pwd"]
    page = client.get("/account/two-factor/verify/", {"next": "/account/two-factor/"})
    assert page.status_code == 200 and b"second factor" in page.content
    response = client.post("/account/two-factor/verify/?next=/account/two-factor/", {"code": code_at(device)})
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    assert client.session[AUTHENTICATION_KEY]["methods"] == ["pwd", "otp"]


def test_next_is_never_an_open_redirect(client, user):
    device = make_device(user)
    password_step(client, user, "https://evil.example/")
    response = second_factor_step(client, code_at(device))
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


def test_p21_a_lock_conflict_is_a_clear_refusal_not_a_500(client, user, monkeypatch):
    """A deadlock or lock timeout while verifying: nothing is decided, the page asks to try again."""
    from django.db import OperationalError

    from provider_app.two_factor import devices
    from tests.provider_app.two_factor_helpers import password_step, second_factor_step

    class Deadlock(Exception):
        sqlstate = "40P01"

    def conflicting(*args, **kwargs):
        try:
            raise Deadlock
        except Deadlock as cause:
            raise OperationalError("deadlock detected") from cause

    device = make_device(user)
    password_step(client, user)
    monkeypatch.setattr(devices, "_verify_totp", conflicting)
    response = second_factor_step(client, code_at(device))
    assert response.status_code == 200
    assert "Please try again" in response.content.decode()


def test_codes_are_hidden_from_error_reports(client, user):
    from django.views.debug import SafeExceptionReporterFilter

    make_device(user)
    password_step(client, user)
    response = second_factor_step(client, "123456")
    request = response.wsgi_request
    filtered = SafeExceptionReporterFilter().get_post_parameters(request)
    assert filtered["code"] != "123456"
