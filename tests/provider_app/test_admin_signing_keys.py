"""The signing keys' admin shows kid, state and dates, never the private part: not the PEM, not a
JWK private member, not even the encrypted column; and no form lets anyone read or write it
(provider_app.admin.SigningKeyAdmin, the rotation of docs/operations.md)."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin as django_admin

from provider_app.admin import SigningKeyAdmin
from provider_app.internal import signing_keys
from provider_app.models import SigningKey

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/provider_app/signingkey/"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")  # RFC 7518 6.3.2


def _change_url(row: SigningKey) -> str:
    return f"{CHANGELIST}{row.pk}/change/"


def _private_material(row: SigningKey) -> list[str]:
    """Every string that would give the private key away, or a part of it."""
    pem = signing_keys._fernet().decrypt(row.private_key.encode())
    private = json.loads(signing_keys.JWK.from_pem(pem).export_private())
    return [
        "PRIVATE KEY",
        pem.decode().splitlines()[1],  # a line of the PEM's base64 body
        row.private_key,  # the encrypted column: a SECRET_KEY leak away from the key
        *(private[name] for name in PRIVATE_MEMBERS),
    ]


@pytest.fixture
def keys() -> list[SigningKey]:
    published = signing_keys.add()
    active = signing_keys.add()
    signing_keys.activate(active.kid, force=True)
    return [published, SigningKey.objects.get(pk=active.pk)]


def test_the_signing_key_pages_never_show_the_private_key(verified_admin_client, keys):
    pages = {CHANGELIST: [row.kid for row in keys]}  # the page, and the kids it does show
    pages.update({_change_url(row): [row.kid] for row in keys})
    for url, kids in pages.items():
        response = verified_admin_client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        html = response.content.decode()
        assert all(kid in html for kid in kids), url
        for row in keys:
            for secret in _private_material(row):
                assert secret not in html, (url, secret[:20])
        assert 'name="private_key"' not in html, url


def test_the_signing_key_admin_has_no_form_field_for_the_private_key(rf, admin_user, keys):
    model_admin = SigningKeyAdmin(SigningKey, django_admin.site)
    request = rf.get(CHANGELIST)
    request.user = admin_user  # a superuser: every permission the admin itself grants
    for row in keys:
        assert "private_key" not in model_admin.get_fields(request, row)
        assert "private_key" not in model_admin.get_form(request, row).base_fields
        assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_add_permission(request)
    assert "private_key" not in model_admin.get_list_display(request)


def test_a_post_to_the_change_page_cannot_replace_the_private_key(verified_admin_client, keys):
    row = keys[0]
    stored = row.private_key
    response = verified_admin_client.post(
        _change_url(row), {"kid": row.kid, "state": row.state, "private_key": "replaced", "_save": "Save"}
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.private_key == stored
