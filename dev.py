#!/usr/bin/env python3
"""One entry point for newcomers and CI; needs only Python 3.11+ and the package registries.

    python3 dev.py demo      set everything up (virtualenv, dependencies, database, demo data)
                             and run the demo on http://localhost:8000 (provider) and
                             http://127.0.0.1:8000 (client), with the task worker that
                             delivers the provider's outbox (logout tokens) and the demo's
                             services (notes on :8001, files on :8002)
    python3 dev.py test      set everything up and run the whole test suite
                             (extra arguments go to pytest; DATABASE_URL selects PostgreSQL)
    python3 dev.py setup     only the virtualenv and dependencies

Options: --venv DIR (default .venv) to keep one virtualenv per Python version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
#: How often the idle task worker looks for deliveries: a revocation reaches the JWT-mode notes service
#: well within a second (E3; the default of django-tasks-db's db_worker is 1 s).
WORKER_INTERVAL_SECONDS = 0.1
DEMO_ENV = {
    "DJANGO_DEBUG": "1",
    "OAUTHSITE_DEMO": "1",
    "PROVIDER_APP_ISSUER": "http://localhost:8000/o",
}


FOREIGN_PROVIDER = ROOT / "tests" / "e2e" / "foreign_provider"


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, check=True)


def ensure_venv(venv_dir: Path, requirements: str) -> Path:
    python = venv_dir / "bin" / "python"
    if not python.exists():
        print(f"Creating the virtualenv {venv_dir} with {sys.executable}", flush=True)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
        run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    # Reinstall only when the requirement files changed since the last install.
    files = [ROOT / "requirements.txt", ROOT / requirements, ROOT / "pyproject.toml"]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = venv_dir / f".installed-{requirements}"
    if not stamp.exists() or stamp.read_text() != digest:
        run([str(python), "-m", "pip", "install", "--quiet", "-r", requirements])
        stamp.write_text(digest)
    return python


def ensure_node_packages() -> None:
    """The provider nobody here wrote (oidc-provider, for the end-to-end tests), from the npm
    registry with the machine's Node.js; installed again only when its lock file changed."""
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the tests against oidc-provider will not run (CI=true fails them)")
        return
    lock = (FOREIGN_PROVIDER / "package-lock.json").read_bytes()
    stamp = FOREIGN_PROVIDER / "node_modules" / ".installed-lock"
    digest = hashlib.sha256(lock).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FOREIGN_PROVIDER)
        stamp.write_text(digest)


# The demo's services (services/, seeded by oauthsite.demo): name, port, settings module.
DEMO_SERVICES = (("notes", 8001), ("files", 8002))


def service_env(name: str) -> dict[str, str]:
    """The environment of one demo service: where the provider is, and its own client (whose secret
    seed_demo generated once into .demo/)."""
    secret = (ROOT / ".demo" / f"{name}_service_secret").read_text()
    return {
        "DJANGO_SETTINGS_MODULE": f"services.{name}.settings",
        "SERVICE_DEBUG": "1",
        "SERVICE_ISSUER": DEMO_ENV["PROVIDER_APP_ISSUER"],
        "SERVICE_CLIENT_ID": f"{name}-service",
        "SERVICE_CLIENT_SECRET": secret,
        "SERVICE_DATABASE": str(ROOT / ".demo" / f"{name}.sqlite3"),
    }


def start_services(python: Path) -> list[subprocess.Popen]:
    processes = []
    for name, port in DEMO_SERVICES:
        env = {**os.environ, **service_env(name)}
        # Each service's own database: resource_app's deny-list of revoked tokens.
        subprocess.run(
            [str(python), "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        command = [str(python), "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env))
    return processes


def demo(python: Path) -> None:
    run([str(python), "manage.py", "migrate", "--noinput"], DEMO_ENV)
    run([str(python), "manage.py", "seed_demo"], DEMO_ENV)
    print(
        "\nDemo: client  http://127.0.0.1:8000/client/   provider  http://localhost:8000/\n"
        "      services notes http://127.0.0.1:8001/ (JWT), files http://127.0.0.1:8002/ (introspection)\n"
        "      accounts alice / alice-demo-password, admin / admin-demo-password\n",
        flush=True,
    )
    # Beside the server: the task worker that delivers the outbox (logout tokens to the demo
    # client, revocation events to the services) and the demo's services.
    print("+ manage.py db_worker and the services (in the background)", flush=True)
    worker = ["db_worker", "--no-reload", "--interval", str(WORKER_INTERVAL_SECONDS)]
    background = [
        subprocess.Popen([str(python), "manage.py", *worker], cwd=ROOT, env={**os.environ, **DEMO_ENV}),
        *start_services(python),
    ]
    try:
        run([str(python), "manage.py", "runserver", "127.0.0.1:8000"], DEMO_ENV)
    finally:
        for process in background:
            process.terminate()
        for process in background:
            process.wait(timeout=10)


def test(python: Path, pytest_args: list[str]) -> None:
    run([str(python), "-m", "pytest", *pytest_args])


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    venv_dir = ROOT / ".venv"
    if "--venv" in rest:
        index = rest.index("--venv")
        venv_dir = ROOT / rest[index + 1]
        del rest[index : index + 2]
    requirements = "requirements.txt" if command == "demo" else "requirements-dev.txt"
    python = ensure_venv(venv_dir, requirements)
    if command != "demo":
        ensure_node_packages()
    try:
        if command == "demo":
            demo(python)
        elif command == "test":
            test(python, rest)
    except subprocess.CalledProcessError as error:
        return error.returncode
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
