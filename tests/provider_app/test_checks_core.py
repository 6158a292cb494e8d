"""System checks: each provider_app check id fires on its misconfiguration, and a production-like
``manage.py check --deploy`` reports nothing from provider_app or client_app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


def _ids(*, deploy: bool = False) -> set[str]:
    return {
        message.id
        for message in run_checks(include_deployment_checks=deploy)
        if message.id and message.id.startswith("provider_app.")
    }


def _oauth2(settings, **overrides) -> dict:
    return {**settings.OAUTH2_PROVIDER, **overrides}


def _rsa_pem(bits: int) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_the_test_configuration_is_clean():
    assert _ids() == set()


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"OIDC_RSA_PRIVATE_KEY": ""}, "provider_app.E001"),
        ({"PKCE_REQUIRED": False}, "provider_app.E002"),
        ({"COMPLIANT_BCP_RFC9700_PKCE_METHOD": False}, "provider_app.E003"),
        ({"OIDC_ISS_ENDPOINT": "http://id.example.com/o"}, "provider_app.E004"),
        ({"ROTATE_REFRESH_TOKEN": False}, "provider_app.E006"),
        ({"REFRESH_TOKEN_REUSE_PROTECTION": False}, "provider_app.E006"),
        (
            {"OIDC_RSA_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"},
            "provider_app.E007",
        ),
        (
            {"OAUTH2_VALIDATOR_CLASS": "oauth2_provider.oauth2_validators.OAuth2Validator"},
            "provider_app.E008",
        ),
        ({"OAUTH2_VALIDATOR_CLASS": "no.such.Validator"}, "provider_app.E008"),
        ({"AUTHORIZATION_CODE_EXPIRE_SECONDS": 600}, "provider_app.E009"),
        ({"COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": False}, "provider_app.E010"),
        ({"COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": False}, "provider_app.E010"),
        ({"COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": False}, "provider_app.E010"),
    ],
)
def test_each_check_fires_on_its_misconfiguration(settings, overrides, check_id):
    with override_settings(OAUTH2_PROVIDER=_oauth2(settings, **overrides)):
        assert check_id in _ids()


def test_e007_short_rsa_key(settings):
    with override_settings(OAUTH2_PROVIDER=_oauth2(settings, OIDC_RSA_PRIVATE_KEY=_rsa_pem(1024))):
        assert "provider_app.E007" in _ids()


def test_e004_not_raised_in_debug_or_with_https(settings):
    with override_settings(
        OAUTH2_PROVIDER=_oauth2(settings, OIDC_ISS_ENDPOINT="http://localhost:8000/o"), DEBUG=True
    ):
        assert "provider_app.E004" not in _ids()
    with override_settings(OAUTH2_PROVIDER=_oauth2(settings, OIDC_ISS_ENDPOINT="https://id.example.com/o")):
        assert "provider_app.E004" not in _ids(deploy=True)
        assert "provider_app.W001" not in _ids(deploy=True)


def test_e005_hasher_missing(settings):
    hashers = [h for h in settings.PASSWORD_HASHERS if "ClientSecretSHA256Hasher" not in h]
    with override_settings(PASSWORD_HASHERS=hashers):
        assert "provider_app.E005" in _ids()


def test_w001_issuer_not_configured_is_a_deploy_check(settings):
    with override_settings(OAUTH2_PROVIDER=_oauth2(settings, OIDC_ISS_ENDPOINT="")):
        assert "provider_app.W001" in _ids(deploy=True)
        assert "provider_app.W001" not in _ids(deploy=False)


def test_a_validator_subclass_is_accepted(settings):
    with override_settings(
        OAUTH2_PROVIDER=_oauth2(
            settings, OAUTH2_VALIDATOR_CLASS="tests.provider_app.test_checks_core.MyValidator"
        )
    ):
        assert "provider_app.E008" not in _ids()


def _production_env(tmp_path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO", "OAUTHSITE", "DATABASE_URL", "SECRET_KEY", "OIDC_", "PROVIDER_APP"))
        and key not in ("ALLOWED_HOSTS", "REDIS_URL", "CLIENT_APP_ENCRYPTION_KEYS")
    }
    from cryptography.fernet import Fernet

    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "oauthsite.settings",
            "SECRET_KEY": "production-" + "k" * 20 + os.urandom(24).hex(),
            "OIDC_RSA_PRIVATE_KEY": _rsa_pem(2048),
            "CLIENT_APP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PROVIDER_APP_ISSUER": "https://id.example.com/o",
            "ALLOWED_HOSTS": "id.example.com",
            # SQLite in a temporary folder: check --deploy needs no database server.
            "HOME": str(tmp_path),
        }
    )
    return env


def test_check_deploy_with_production_settings_reports_nothing_from_our_apps(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERRORS:" not in output, output
    ours = [line for line in output.splitlines() if "provider_app." in line or "client_app." in line]
    assert ours == [], output


def test_check_deploy_catches_a_non_https_issuer_in_production(tmp_path):
    env = _production_env(tmp_path)
    env["PROVIDER_APP_ISSUER"] = "http://id.example.com/o"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "provider_app.E004" in result.stdout + result.stderr


from provider_app.oauth2_validator import ProviderOAuth2Validator  # noqa: E402


class MyValidator(ProviderOAuth2Validator):
    """A project's validator subclass, as docs/extension-points.md describes."""
