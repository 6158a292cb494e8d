"""P16: after a full flow, a dump of the database (dumpdata, and every table read raw with SQL)
holds none of the secrets that were issued or typed."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import USER_PASSWORD
from tests.oauth_helpers import exchange, get_code, post_refresh, request_for
from tests.provider_app.two_factor_helpers import password_step

pytestmark = pytest.mark.django_db(transaction=True)


def _raw_tables() -> str:
    """Every row of every table, read with plain SQL (what a stolen backup holds)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def _dumpdata() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


def _issue_everything(client, user, application) -> dict[str, str]:
    wrong_password = "wrong-password-Kq8vZ3"
    assert (
        client.post("/account/login/", {"username": user.username, "password": wrong_password}).status_code
        == 200
    )
    assert password_step(client, user).status_code == 302
    request = request_for(application)
    code = get_code(client, request)
    tokens = exchange(client, application, request, code).json()
    refreshed = post_refresh(client, application, tokens["refresh_token"]).json()
    pending_code = get_code(client, request_for(application))  # issued, never redeemed: still in the table
    from provider_app.two_factor.recovery import issue_recovery_codes

    recovery_codes = issue_recovery_codes(user)
    from base64 import b32encode

    from provider_app.two_factor import seeds
    from tests.provider_app.two_factor_helpers import make_device

    seed = seeds.bin_key(make_device(user))  # P28: an authenticator app's seed
    secrets = {
        "TOTP seed (hex)": seed.hex(),
        "TOTP seed (base32)": b32encode(seed).decode().rstrip("="),
        "password": USER_PASSWORD,
        "wrong password": wrong_password,
        "client secret": application.raw_secret,
        "code": code,
        "pending code": pending_code,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "id token": tokens["id_token"],
        "refreshed access token": refreshed["access_token"],
        "refreshed refresh token": refreshed["refresh_token"],
        "refreshed id token": refreshed["id_token"],
    }
    secrets.update({f"recovery code {n}": code for n, code in enumerate(recovery_codes)})
    return secrets


def test_p16_database_dump_holds_no_usable_secret(client, user, application):
    secrets = _issue_everything(client, user, application)
    dumps = {"dumpdata": _dumpdata(), f"raw {connection.vendor} tables": _raw_tables()}
    assert json.loads(dumps["dumpdata"])  # the dump really has rows
    # The search covers the tables that matter: the pending code is there, as its SHA-256.
    assert (
        hashlib.sha256(secrets["pending code"].encode()).hexdigest()
        in dumps[f"raw {connection.vendor} tables"]
    )
    for dump_name, dump in dumps.items():
        for secret_name, secret in secrets.items():
            assert secret not in dump, f"{secret_name} found in {dump_name}"
