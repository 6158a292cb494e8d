"""P28: TOTP seeds are encrypted at rest with a key that can be rotated; a database dump alone
yields no usable seed, and django-otp's devices keep verifying codes."""

from __future__ import annotations

import binascii
import importlib
import io

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.two_factor import seeds
from provider_app.two_factor.devices import unconfirmed_device, verify_totp
from provider_app.two_factor.models import TOTPSeed
from tests.provider_app.two_factor_helpers import code_at, login_two_factor, make_device

pytestmark = pytest.mark.django_db

RFC6238_SEED = b"12345678901234567890".hex()


def _stored(device) -> tuple[str, str]:
    """What a dump holds for the device: its ``key`` column and its seed row."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key FROM {TOTPDevice._meta.db_table} WHERE id = %s", [device.pk])
        key = cursor.fetchone()[0]
        cursor.execute(f"SELECT ciphertext FROM {TOTPSeed._meta.db_table} WHERE device_id = %s", [device.pk])
        ciphertext = cursor.fetchone()[0]
    return key, ciphertext


def _code(hex_seed: str) -> str:
    totp = TOTP(bytes.fromhex(hex_seed), 30, 0, 6, 0)
    return f"{totp.token():06d}"


def test_p28_the_dump_holds_no_seed_of_an_enrolled_device(client, user):
    client.force_login(user)
    client.get("/account/two-factor/setup/")  # enrolment creates the device
    device = TOTPDevice.objects.get(user=user)
    seed_hex = seeds.bin_key(device).hex()
    key, ciphertext = _stored(device)
    assert key == seeds.SEALED
    assert seed_hex not in ciphertext and seed_hex.upper() not in ciphertext
    assert seeds.unseal(ciphertext) == seed_hex  # the keys open it ...
    assert verify_totp(user, _code(seed_hex), confirmed=False).ok  # ... and the code verifies


def test_p28_a_device_saved_by_django_otp_itself_is_sealed_and_still_verifies(client, user):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True, key=RFC6238_SEED, tolerance=1)
    key, ciphertext = _stored(device)
    assert key == seeds.SEALED and RFC6238_SEED not in ciphertext
    assert seeds.bin_key(TOTPDevice.objects.get(pk=device.pk)) == bytes.fromhex(RFC6238_SEED)
    assert login_two_factor(client, user, device).status_code == 302


def test_p28_the_marker_left_in_the_key_column_never_verifies_through_django_otp(user):
    device = make_device(user)
    plain = TOTPDevice.objects.get(pk=device.pk)  # django-otp's class, reading only the dump's column
    with pytest.raises(binascii.Error):
        plain.verify_token(code_at(device))


def test_p28_other_keys_open_nothing(settings, user):
    device = make_device(user)
    code = code_at(device)
    _, ciphertext = _stored(device)
    settings.PROVIDER_APP_TOTP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured):
        seeds.unseal(ciphertext)
    with pytest.raises(ImproperlyConfigured):  # a clear error, never a code checked against junk
        verify_totp(user, code)


def test_p28_keys_derive_from_secret_key_and_its_fallbacks(settings, user):
    device = make_device(user)
    _, ciphertext = _stored(device)
    old_secret_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(ImproperlyConfigured):
        seeds.unseal(ciphertext)  # a new SECRET_KEY alone does not open the old seeds
    settings.SECRET_KEY_FALLBACKS = [old_secret_key]
    assert seeds.unseal(ciphertext) == seeds.bin_key(device).hex()


def test_p28_rotation_reencrypts_with_the_newest_key(settings, client, user):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PROVIDER_APP_TOTP_ENCRYPTION_KEYS = [old]
    device = make_device(user)
    seed_hex = seeds.bin_key(device).hex()
    settings.PROVIDER_APP_TOTP_ENCRYPTION_KEYS = [new, old]
    call_command("provider_app_rotate_totp_keys", stdout=io.StringIO())
    settings.PROVIDER_APP_TOTP_ENCRYPTION_KEYS = [new]  # the old key is gone
    _, ciphertext = _stored(device)
    assert seeds.unseal(ciphertext) == seed_hex
    assert login_two_factor(client, user, TOTPDevice.objects.get(pk=device.pk)).status_code == 302


def test_p28_the_rotation_command_also_seals_a_seed_written_in_clear(user):
    device = make_device(user)
    TOTPDevice.objects.filter(pk=device.pk).update(key=RFC6238_SEED)  # bypasses the signals
    TOTPSeed.objects.filter(pk=device.pk).delete()
    call_command("provider_app_rotate_totp_keys", stdout=io.StringIO())
    key, ciphertext = _stored(device)
    assert key == seeds.SEALED and seeds.unseal(ciphertext) == RFC6238_SEED


def test_p28_the_migration_encrypts_existing_devices(client, user):
    device = make_device(user)
    TOTPDevice.objects.filter(pk=device.pk).update(key=RFC6238_SEED)  # as django-otp stored it
    TOTPSeed.objects.filter(pk=device.pk).delete()
    migration = importlib.import_module("provider_app.migrations.0009_encrypted_totp_seeds")
    editor = type("Editor", (), {"connection": connection})()
    migration.seal_existing_seeds(apps, editor)
    key, ciphertext = _stored(device)
    assert key == seeds.SEALED and seeds.unseal(ciphertext) == RFC6238_SEED
    assert login_two_factor(client, user, TOTPDevice.objects.get(pk=device.pk)).status_code == 302
    migration.unseal_seeds(apps, editor)  # and back
    assert TOTPDevice.objects.get(pk=device.pk).key == RFC6238_SEED


def test_p28_a_reload_of_the_enrolment_page_keeps_the_same_sealed_seed(client, user):
    client.force_login(user)
    first = client.get("/account/two-factor/setup/").context["secret"]
    second = client.get("/account/two-factor/setup/").context["secret"]
    assert first == second
    assert unconfirmed_device(user).key == seeds.SEALED
