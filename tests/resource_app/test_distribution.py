"""resource_app's own distribution (distributions/django-oauthsite-resource): a service installs it
without provider_app, client_app or their dependencies (issue 13: Django, DRF optional, a JOSE library,
requests).

The wheel is built offline from the checkout, as `pip wheel` would for a service; then a fresh
interpreter runs a minimal service from that wheel alone, with the provider's packages made
unimportable (they are installed in the test virtualenv, so a plain import test would prove nothing).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT = ROOT / "distributions" / "django-oauthsite-resource"

#: What the distribution may require: (name, marker). Its Django range is the root's.
ALLOWED_REQUIREMENTS = {
    ("django", "None"),
    ("requests", "None"),
    ("jwcrypto", "None"),
    ("djangorestframework", 'extra == "drf"'),
}
#: The third-party packages resource_app may import (urllib3 comes with requests; DRF only in
#: resource_app.authentication, for the services that install the [drf] extra).
ALLOWED_IMPORTS = {"django", "requests", "urllib3", "jwcrypto", "rest_framework", "resource_app"}
DRF_MODULES = {"resource_app.authentication"}
#: Installed in the test virtualenv for the provider and the client; a service has none of them.
BLOCKED = [
    "provider_app",
    "client_app",
    "oauthsite",
    "oauth2_provider",
    "oauthlib",
    "django_otp",
    "axes",
    "segno",
    "django_tasks",
    "django_tasks_db",
]


def build_wheel(source: Path, out: Path) -> Path:
    """As pip builds it for a service, offline (hatchling is in requirements-dev.txt)."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index"]
    result = subprocess.run(
        [*command, "--quiet", "--wheel-dir", str(out), str(source)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(PROJECT, tmp_path_factory.mktemp("wheel"))


def metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def test_requires_only_django_requests_jwcrypto_and_drf_as_an_extra(wheel):
    meta = metadata(wheel)
    assert meta["Name"] == "django-oauthsite-resource"
    requirements = [Requirement(line) for line in meta.get_all("Requires-Dist")]
    assert {(r.name.lower(), str(r.marker)) for r in requirements} == ALLOWED_REQUIREMENTS
    assert meta.get_all("Provides-Extra") == ["drf"]
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (root_django,) = [Requirement(line) for line in root if Requirement(line).name == "Django"]
    (django,) = [r for r in requirements if r.name.lower() == "django"]
    assert django.specifier == root_django.specifier


def test_the_wheel_holds_resource_app_and_nothing_else(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    packaged = {n for n in names if ".dist-info/" not in n}
    in_checkout = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "resource_app").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert packaged == in_checkout  # every module and migration, no byte code, nothing of the other apps
    assert "resource_app/migrations/0001_deny_list.py" in packaged


def test_a_wheel_built_from_the_sdist_holds_the_same_files(wheel, tmp_path):
    """The sdist carries resource_app beside hatch_build.py, where ../../resource_app does not exist."""
    build = "import sys, hatchling.build; print(hatchling.build.build_sdist(sys.argv[1]))"
    result = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path)], capture_output=True, text=True, cwd=PROJECT
    )
    assert result.returncode == 0, result.stderr
    with tarfile.open(tmp_path / result.stdout.strip()) as sdist:
        sdist.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    from_sdist = build_wheel(unpacked, tmp_path / "wheel")
    with zipfile.ZipFile(wheel) as direct, zipfile.ZipFile(from_sdist) as rebuilt:
        assert sorted(rebuilt.namelist()) == sorted(direct.namelist())


def test_the_root_distribution_no_longer_carries_resource_app():
    """Two distributions owning the same files would remove each other's on uninstall."""
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert not [pattern for pattern in include["include"] if pattern.startswith("resource_app")]


def test_resource_app_imports_only_its_own_dependencies(wheel):
    """Imports inside functions too, which running the app below might not reach."""
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".py"):
                continue
            module = name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for node in ast.walk(ast.parse(archive.read(name), name)):
                if isinstance(node, ast.Import):
                    imported = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported = [node.module]
                else:
                    continue
                for top in (i.split(".")[0] for i in imported):
                    if top in sys.stdlib_module_names or top == "__future__":
                        continue
                    if top not in ALLOWED_IMPORTS or (top == "rest_framework" and module not in DRF_MODULES):
                        found.append(f"{module}: {top}")
    assert found == []


SERVICE = """
import importlib, json, sys

wheel, blocked, modules, drf = json.loads(sys.argv[1])
attempted = []

class Uninstalled:
    '''The provider's packages are in this virtualenv; a service would not have them.'''
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            attempted.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (not in a service)", name=name)

sys.meta_path.insert(0, Uninstalled())
sys.path.insert(0, wheel)  # a pure wheel is importable as a zip

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="service-test",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"]
    + (["rest_framework"] if drf else []) + ["resource_app"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="resource_app.urls",
    USE_TZ=True,
    RESOURCE_APP_ISSUER="https://id.example.com/o",
    RESOURCE_APP_AUDIENCE="https://notes.example.com/",
    RESOURCE_APP_MODE="jwt",
)
django.setup()

import resource_app
assert resource_app.__file__.startswith(wheel), resource_app.__file__

from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory

call_command("check", fail_level="WARNING")
call_command("makemigrations", "resource_app", "--check", "--dry-run", verbosity=0)
call_command("migrate", verbosity=0)
assert any(t.startswith("resource_app_") for t in connection.introspection.table_names())
for module in modules:
    importlib.import_module(module)

from resource_app.decorators import token_required

@token_required(scopes=["notes:read"])
def notes(request):
    raise AssertionError("no token: the view is never reached")

answer = notes(RequestFactory().get("/notes/"))
assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Bearer"), answer
answer = notes(RequestFactory().get("/notes/", HTTP_AUTHORIZATION="Bearer not-a-jwt"))
assert answer.status_code == 401 and "invalid_token" in answer["WWW-Authenticate"], answer
if drf:
    from rest_framework.views import APIView
    from resource_app.authentication import BearerTokenAuthentication, HasScopes

    class Notes(APIView):
        authentication_classes = [BearerTokenAuthentication]
        permission_classes = [HasScopes]
        required_scopes = ["notes:read"]

    answer = Notes.as_view()(RequestFactory().get("/notes/"))
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Bearer"), answer
loaded = sorted(m for m in sys.modules if m.startswith("resource_app"))
print(json.dumps({"attempted": attempted, "loaded": loaded}))
"""


@pytest.mark.parametrize("drf", [True, False], ids=["with-drf", "without-drf"])
def test_a_service_runs_from_the_wheel_without_the_provider_packages(wheel, tmp_path, drf):
    with zipfile.ZipFile(wheel) as archive:
        modules = sorted(
            n.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for n in archive.namelist()
            if n.endswith(".py") and "/migrations/" not in n
        )
    blocked = BLOCKED if drf else [*BLOCKED, "rest_framework"]
    if not drf:
        modules = [m for m in modules if m not in DRF_MODULES]
    argument = json.dumps([str(wheel), blocked, modules, drf])
    # -I: neither the checkout (the current directory) nor PYTHONPATH on sys.path, only the wheel.
    result = subprocess.run(
        [sys.executable, "-I", "-c", SERVICE, argument], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    # Also an import that the app caught and survived (try/except ImportError) counts.
    assert report["attempted"] == []
    assert set(modules) <= set(report["loaded"])
