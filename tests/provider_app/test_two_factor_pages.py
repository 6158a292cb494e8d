"""Enrolment and self-service pages, their headers (P10), and the admin (staff need two-factor)."""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.models import AuditEvent
from provider_app.two_factor import seeds
from tests.factories import USER_PASSWORD
from tests.provider_app.two_factor_helpers import code_at, login_two_factor, make_device, password_step

pytestmark = pytest.mark.django_db

T0 = 1_900_000_000


def test_enrolment_shows_an_inline_svg_qr_code_and_the_secret_as_text(client, user):
    client.force_login(user)
    page = client.get("/account/two-factor/setup/")
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert "<svg" in html and 'class="segno"' in html
    secret = page.context["secret"].replace(" ", "")
    from base64 import b32encode

    assert secret == b32encode(seeds.bin_key(device)).decode().rstrip("=")
    assert page.context["secret"] in html
    # Nothing from another origin: no <script>, no external src/href.
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_enrolment_provisioning_uri_names_issuer_and_account(user):
    from provider_app.two_factor.qr import provisioning_uri

    device = make_device(user)
    uri = provisioning_uri(device)
    assert uri.startswith(f"otpauth://totp/oauthsite%3A{user.username}?")
    assert "issuer=oauthsite" in uri and "period=30" in uri and "digits=6" in uri


def test_device_becomes_confirmed_only_after_a_valid_code(client, user):
    client.force_login(user)
    client.get("/account/two-factor/setup/")
    device = TOTPDevice.objects.get(user=user)
    wrong = f"{(int(code_at(device)) + 1) % 1_000_000:06d}"
    response = client.post("/account/two-factor/setup/", {"device": device.pk, "name": "p", "code": wrong})
    assert response.status_code == 200 and "not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    # A reload keeps the same secret (the user may have scanned it already).
    assert client.get("/account/two-factor/setup/").context["device"].pk == device.pk
    with time_machine.travel(time.time() + 2):  # past the 1 s throttling delay of the wrong code
        response = client.post(
            "/account/two-factor/setup/", {"device": device.pk, "name": "My phone", "code": code_at(device)}
        )
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed and device.name == "My phone"
    assert AuditEvent.objects.filter(event="two_factor.device_added", user=user).exists()


def test_someone_elses_unconfirmed_device_cannot_be_confirmed(client, user, django_user_model):
    other = django_user_model.objects.create_user("other-user", password="x" * 20)
    victim_device = make_device(other, confirmed=False)
    client.force_login(user)
    response = client.post(
        "/account/two-factor/setup/",
        {"device": victim_device.pk, "name": "x", "code": code_at(victim_device)},
    )
    victim_device.refresh_from_db()
    assert not victim_device.confirmed
    assert response.status_code == 200


def test_self_service_pages_need_a_signed_in_user(client):
    for url in ["/account/two-factor/", "/account/two-factor/setup/", "/account/two-factor/recovery-codes/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/account/login/")


def test_adding_a_device_needs_recent_authentication(client, user):
    with time_machine.travel(T0, tick=False):
        password_step(client, user)
    with time_machine.travel(T0 + 601, tick=False):
        response = client.get("/account/two-factor/setup/")
        assert (
            response["Location"]
            == "/account/two-factor/reauthenticate/?next=%2Faccount%2Ftwo-factor%2Fsetup%2F"
        )
        wrong = client.post(response["Location"], {"password": "wrong password"})
        assert wrong.status_code == 200 and "not right" in wrong.content.decode()
        ok = client.post(response["Location"], {"password": USER_PASSWORD})
        assert ok["Location"] == "/account/two-factor/setup/"
        assert client.get("/account/two-factor/setup/").status_code == 200


def test_reauthentication_by_a_code(client, user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        login_two_factor(client, user, device)
    with time_machine.travel(T0 + 3600, tick=False):
        url = "/account/two-factor/reauthenticate/?next=/account/two-factor/"
        response = client.post(url, {"code": code_at(device)})
        assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
        assert client.get(f"/account/two-factor/devices/{device.pk}/remove/").status_code == 200


def test_removing_a_device_needs_recent_authentication_and_a_post(client, user):
    device = make_device(user)
    with time_machine.travel(T0, tick=False):
        login_two_factor(client, user, device)
    with time_machine.travel(T0 + 3600, tick=False):
        response = client.post(f"/account/two-factor/devices/{device.pk}/remove/")
        assert response["Location"].startswith("/account/two-factor/reauthenticate/")
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    with time_machine.travel(T0 + 10, tick=False):
        assert client.get(f"/account/two-factor/devices/{device.pk}/remove/").status_code == 200
        assert TOTPDevice.objects.filter(pk=device.pk).exists()  # a GET only asks
        response = client.post(f"/account/two-factor/devices/{device.pk}/remove/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(event="two_factor.device_removed", user=user).exists()


def test_a_user_cannot_remove_someone_elses_device(client, user, django_user_model):
    other = django_user_model.objects.create_user("other-user", password="x" * 20)
    device = make_device(other)
    client.force_login(user)
    assert client.post(f"/account/two-factor/devices/{device.pk}/remove/").status_code == 404
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


PAGES = [
    "/account/login/",
    "/account/two-factor/verify/",
    "/account/two-factor/",
    "/account/two-factor/setup/",
    "/account/two-factor/recovery-codes/",
    "/account/two-factor/reauthenticate/",
]


@pytest.mark.parametrize("url", PAGES)
def test_p10_login_and_two_factor_pages_send_the_authentication_page_headers(client, user, url):
    make_device(user)
    if url != "/account/login/":
        password_step(client, user)  # a pending second step, for the verify page
        if url != "/account/two-factor/verify/":
            client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert not re.search(r'(src|href)="(https?:)?//', response.content.decode())


# --- the admin -------------------------------------------------------------------------------------


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", USER_PASSWORD)


def test_admin_refuses_staff_without_a_second_factor_and_sends_them_to_enrol(client, staff):
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 302 and follow["Location"].startswith("/account/two-factor/setup/?next=")


def test_admin_sends_staff_with_a_device_to_the_second_factor(client, staff):
    device = make_device(staff)
    client.force_login(staff)
    login_page = client.get("/admin/login/?next=/admin/")
    assert login_page["Location"] == "/account/two-factor/verify/?next=%2Fadmin%2F"
    back = client.post(login_page["Location"], {"code": code_at(device)})
    assert back["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admin_sends_signed_out_visitors_to_the_provider_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response["Location"] == "/account/login/?next=%2Fadmin%2F"


def test_admin_login_form_never_signs_in_by_password_alone(client, staff):
    make_device(staff)
    response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": USER_PASSWORD})
    assert response["Location"] == "/account/login/?next=%2Fadmin%2F"
    assert SESSION_KEY not in client.session


def test_admin_login_sends_signed_in_non_staff_to_sign_in_again(client, user):
    client.force_login(user)
    response = client.get("/admin/login/?next=/admin/")
    assert response["Location"] == "/account/login/?next=%2Fadmin%2F"


def test_admin_login_next_stays_on_site(client):
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/account/login/?next=%2Fadmin%2F"


def test_admin_accepts_staff_after_the_two_step_login(client, staff):
    device = make_device(staff)
    login_two_factor(client, staff, device, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_admin_lists_who_has_two_factor_and_never_shows_a_key(client, staff, user):
    device = make_device(staff)
    make_device(user)
    login_two_factor(client, staff, device)
    users = client.get("/admin/auth/user/", {"two_factor": "yes"})
    assert users.status_code == 200
    assert users.context["cl"].result_count == 2
    assert client.get("/admin/auth/user/", {"two_factor": "no"}).context["cl"].result_count == 0
    devices = client.get("/admin/otp_totp/totpdevice/")
    assert devices.status_code == 200
    change = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert seeds.bin_key(device).hex() not in html
    assert "otpauth://" not in html and "segno" not in html  # no provisioning URI, no QR code


def test_admin_removes_a_lost_device_and_records_it(client, staff, user):
    device = make_device(staff)
    lost = make_device(user)
    login_two_factor(client, staff, device)
    response = client.post(f"/admin/otp_totp/totpdevice/{lost.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    event = AuditEvent.objects.get(event="two_factor.device_removed")
    assert event.user == user and event.details["by"] == "admin"
    # The user now signs in with the password and can enrol again.
    from django.test import Client

    fresh = Client()
    password_step(fresh, user)
    assert fresh.session[SESSION_KEY] == str(user.pk)
