"""Where the project's secrets come from: the environment, a file it names, or (demo only) a
git-ignored folder where they are generated once.

``NAME`` in the environment wins; then ``NAME_FILE`` (a path whose content is the secret); then, in
demo mode only, ``<demo dir>/<file name>``, created on first use. Outside demo mode a missing secret
is a configuration error: production never runs on a generated key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def read_secret(name: str, *, demo_dir: Path | None, file_name: str, generate: Callable[[], str]) -> str:
    if value := os.environ.get(name):
        return value
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text()
    if demo_dir is None:
        raise ImproperlyConfigured(f"Set {name} (or {name}_FILE) in the environment.")
    demo_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = demo_dir / file_name
    if not target.exists():
        # O_EXCL: two processes starting at once never overwrite each other's key.
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return target.read_text()
        with os.fdopen(fd, "w") as handle:
            handle.write(generate())
    return target.read_text()


def generate_secret_key() -> str:
    return secrets.token_urlsafe(50)


def generate_rsa_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def generate_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
