"""Recovery codes: ten, shown once, hashed, single-use, regenerated after re-authentication (P16, P21)."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client, override_settings

from provider_app.internal.login import AUTHENTICATION_KEY
from provider_app.two_factor.models import RecoveryCode
from provider_app.two_factor.recovery import digest, issue_recovery_codes
from tests.provider_app.two_factor_helpers import (
    code_at,
    login_two_factor,
    make_device,
    password_step,
    second_factor_step,
)

pytestmark = pytest.mark.django_db

T0 = 1_900_000_000


def test_p21_ten_distinct_high_entropy_codes(user):
    make_device(user)
    codes = issue_recovery_codes(user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(code.replace("-", "")) == 16 for code in codes)


def test_p16_recovery_codes_are_stored_only_as_keyed_digests(user):
    make_device(user)
    codes = issue_recovery_codes(user)
    stored = list(RecoveryCode.objects.values_list("digest", flat=True))
    assert sorted(stored) == sorted(digest(code) for code in codes)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {RecoveryCode._meta.db_table}")
        dump = repr(cursor.fetchall())
    for code in codes:
        assert code not in dump and code.replace("-", "") not in dump
    # Keyed: a plain SHA-256 of the code is not what is stored.
    import hashlib

    assert hashlib.sha256(codes[0].replace("-", "").encode()).hexdigest() not in stored


def test_p21_recovery_code_signs_in_once(client, user):
    make_device(user)
    code = issue_recovery_codes(user)[0]
    password_step(client, user)
    response = second_factor_step(client, code.upper().replace("-", " "))  # typed loosely
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.session[AUTHENTICATION_KEY]["methods"] == ["pwd", "otp"]
    assert RecoveryCode.objects.filter(used_at__isnull=False).count() == 1

    with time_machine.travel(T0, tick=False):  # well after: no throttling in the way
        other = Client()
        password_step(other, user)
        refused = second_factor_step(other, code)
    assert refused.status_code == 200 and SESSION_KEY not in other.session


def test_recovery_code_login_marks_the_session_verified_for_django_otp(client, user):
    make_device(user)
    code = issue_recovery_codes(user)[0]
    password_step(client, user)
    second_factor_step(client, code)
    from django_otp import DEVICE_ID_SESSION_KEY

    assert client.session[DEVICE_ID_SESSION_KEY].startswith("provider_app.recoverycodedevice/")


def test_p21_wrong_recovery_codes_are_throttled(user):
    from provider_app.two_factor.devices import verify_recovery_code

    make_device(user)
    codes = issue_recovery_codes(user)
    with time_machine.travel(T0, tick=False):
        assert not verify_recovery_code(user, "aaaa-bbbb-cccc-dddd").ok
        blocked = verify_recovery_code(user, codes[0])
        assert not blocked.ok and blocked.throttled_until is not None
    with time_machine.travel(T0 + 2, tick=False):
        assert verify_recovery_code(user, codes[0]).ok


@override_settings(SECRET_KEY="new-" + "k" * 60, SECRET_KEY_FALLBACKS=["old-" + "k" * 60])
def test_codes_survive_a_secret_key_rotation(user):
    from provider_app.two_factor.devices import verify_recovery_code

    make_device(user)
    with override_settings(SECRET_KEY="old-" + "k" * 60, SECRET_KEY_FALLBACKS=[]):
        codes = issue_recovery_codes(user)
    assert verify_recovery_code(user, codes[0]).ok


def test_enrolment_shows_ten_codes_once(client, user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    client.get("/account/two-factor/setup/")
    device = TOTPDevice.objects.get(user=user)
    response = client.post(
        "/account/two-factor/setup/", {"device": device.pk, "name": "p", "code": code_at(device)}
    )
    codes = response.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert code in response.content.decode()
    assert response["Cache-Control"].startswith("no-store")
    overview = client.get("/account/two-factor/").content.decode()
    assert "Recovery codes left: 10" in overview
    assert all(code not in overview for code in codes)


def test_regenerating_needs_recent_authentication_then_replaces_the_codes(client, user):
    device = make_device(user)
    old = issue_recovery_codes(user)
    with time_machine.travel(T0, tick=False):
        login_two_factor(client, user, device)
    with time_machine.travel(T0 + 3600, tick=False):
        response = client.post("/account/two-factor/recovery-codes/")
        assert response.status_code == 302
        assert response["Location"].startswith("/account/two-factor/reauthenticate/?next=")
        assert RecoveryCode.objects.filter(digest=digest(old[0])).exists()
        from tests.factories import USER_PASSWORD

        reauth = client.post(response["Location"], {"password": USER_PASSWORD})
        assert reauth.status_code == 302 and reauth["Location"] == "/account/two-factor/recovery-codes/"
        response = client.post("/account/two-factor/recovery-codes/")
    assert response.status_code == 200
    new = response.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert not RecoveryCode.objects.filter(digest=digest(old[0])).exists()
    assert RecoveryCode.objects.filter(digest=digest(new[0])).exists()


def test_removing_the_last_device_removes_the_recovery_codes(client, user):
    device = make_device(user)
    issue_recovery_codes(user)
    login_two_factor(client, user, device)
    response = client.post(f"/account/two-factor/devices/{device.pk}/remove/")
    assert response.status_code == 302
    assert not RecoveryCode.objects.exists()
