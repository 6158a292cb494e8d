#!/usr/bin/env python3
"""Benchmark provider_app against stock django-oauth-toolkit with one command.

    python3 bench/run.py                 # SQLite in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python3 bench/run.py   # PostgreSQL
    ... --scale 1000000                  # PostgreSQL: also with a million rows in the token tables

The harness prepares a fresh database (SQLite file in a temporary directory, or the PostgreSQL
database ``<name>_bench``, dropped and created again), migrates it, creates clients and tokens,
starts gunicorn (several sync workers) once per configuration and drives every scenario with wrk.
It prints throughput, latency percentiles, the ratio to the two floors (a plain Django JSON view and
a DRF view without authentication, served by the same server) and the ratio of provider_app to
stock DOT (PBKDF2-hashed secrets) and to stock DOT with plain-text secrets.

What each performance layer of provider_app buys: ``--configs ours,<configuration>,...`` adds
provider_app with one layer off (bench/layers.py), each its own settings module and gunicorn, on
the same database and clients as "ours", measured in the same rounds (each round starting one
configuration further along: use as many rounds as configurations); the report adds their req/s
divided by provider_app's for each scenario (and for the DRF floor, which shows how much two
servers differ with nothing to tell them apart), and JSON ``ratios_to_ours``:

    ours-no-local     PROVIDER_APP_TOKEN_LOCAL_CACHE = False (no per-process copies)
    ours-no-cache     PROVIDER_APP_TOKEN_CACHE = None (no shared cache, hence no local copies)
    ours-row-by-row   a no-op post_save receiver on the access token model (bench.row_by_row):
                      provider_app saves a token response's rows one by one, its documented path
    ours-unprepared   DATABASE_PREPARED_STATEMENTS=0 (no server-side binding, nothing prepared)

Before the load, each of those and "ours" is probed in one process with its settings (SQL
statements and Redis round trips of a code exchange and of ``GET /api/me``, statements prepared on
the connection); a configuration that does not differ from "ours" as it claims is flagged (on
SQLite or without Redis they cannot: use PostgreSQL and Redis).

Needs wrk (Debian/Ubuntu: ``sudo apt-get install -y wrk``; macOS: ``brew install wrk``), the
project's virtualenv (``python3 dev.py setup``) and, for the shared token cache, Redis
(``REDIS_URL``, or a server on 127.0.0.1:6379).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:  # Re-run under the project's virtualenv when started with a bare python3.
    import django  # noqa: F401
except ImportError:
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    sys.exit("Django is not importable: create the virtualenv first with `python3 dev.py setup`.")

sys.path.insert(0, str(ROOT))
from bench import layers as L  # noqa: E402
from bench import results as R  # noqa: E402

WRK_DIR = ROOT / "bench" / "wrk"
WRK_INSTALL_HINT = (
    "wrk (the HTTP load generator) is not installed.\n"
    "  Debian/Ubuntu: sudo apt-get install -y wrk\n"
    "  Fedora:        sudo dnf install -y wrk\n"
    "  macOS:         brew install wrk\n"
    "then run `python3 bench/run.py` again."
)
SCENARIOS = {
    "plain": "floor: plain Django JSON view",
    "drf": "floor: DRF view, no authentication",
    "code": "(1) token: authorization_code + ID token",
    "cc": "(2) token: client_credentials",
    "refresh": "(3) token: refresh_token (rotating)",
    "me": "(4) GET /api/me with a bearer token",
    "introspect": "(5) introspection by a resource server",
    "login": "(6) browser-like login through client_app",
    "service": "(7) a service (resource_app): GET with a bearer token",
    "service-call": "(7b) a service (resource_app) readies a call to another for the user",
    "exchange": "(8) token: RFC 8693 token exchange (provider_app only)",
}
CONFIGS = {
    "ours": ("provider_app", "bench.settings_ours"),
    "stock": ("stock DOT (PBKDF2 secrets)", "bench.settings_stock"),
    "plain": ("stock DOT (plain-text secrets)", "bench.settings_stock"),
    # provider_app with one performance layer off (bench/layers.py), each served by its own gunicorn.
    **{name: (label, settings) for name, (label, settings, _off) in L.LAYERS.items()},
}
# Which gunicorn serves a configuration. With --scale, "baseline" (the benchmark's database) and
# "scale" (a copy of it with the big token tables) are provider_app again, measured side by side.
SERVER_OF = {
    "ours": "ours",
    "stock": "stock",
    "plain": "stock",
    "baseline": "ours",
    "scale": "scale",
    **{name: name for name in L.LAYERS},
}
CC_BODY = "grant_type=client_credentials&scope=profile"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Database and environment
# ---------------------------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    url: str
    is_postgres: bool
    admin_url: str | None = None
    name: str | None = None

    @classmethod
    def prepare(cls, workdir: Path) -> BenchDatabase:
        source = os.environ.get("DATABASE_URL")
        if not source:
            return cls(url=f"sqlite:///{workdir / 'bench.sqlite3'}", is_postgres=False)
        parts = urllib.parse.urlsplit(source)
        name = f"{parts.path.lstrip('/') or 'oauthsite'}_bench"
        admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        database = cls(
            url=urllib.parse.urlunsplit(parts._replace(path=f"/{name}")),
            is_postgres=True,
            admin_url=admin_url,
            name=name,
        )
        database.recreate()
        return database

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            self.admin_url.replace("postgres://", "postgresql://", 1), autocommit=True
        ) as conn:
            conn.execute(sql)

    def recreate(self) -> None:
        log(f"PostgreSQL: (re)creating database {self.name}")
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.is_postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def settle(self) -> None:
        """Finish the database's own work before a measurement, not during it.

        Thousands of single-use codes or refresh tokens are inserted right before their scenario,
        and every scenario leaves rows behind; left alone, PostgreSQL would vacuum and analyse
        those tables (autovacuum) and write the checkpoint they caused while the next load runs,
        for whichever configuration comes next. So before each measurement: vacuum, analyse and
        checkpoint (CHECKPOINT needs a superuser or pg_checkpoint: skipped otherwise).
        """
        if not self.is_postgres:
            return
        import psycopg

        with self.connect() as conn:
            conn.execute("VACUUM (ANALYZE)")
            try:
                conn.execute("CHECKPOINT")
            except psycopg.errors.InsufficientPrivilege:
                pass

    def copy(self, suffix: str) -> BenchDatabase:
        """A new database created from this one (nobody may be connected to this one meanwhile)."""
        name = f"{self.name}_{suffix}"
        copy = BenchDatabase(
            url=urllib.parse.urlunsplit(urllib.parse.urlsplit(self.url)._replace(path=f"/{name}")),
            is_postgres=True,
            admin_url=self.admin_url,
            name=name,
        )
        import psycopg

        copy._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for attempt in range(30):
            try:
                copy._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
                return copy
            except psycopg.errors.ObjectInUse:  # a closed connection's backend still exiting
                if attempt == 29:
                    raise
                time.sleep(1)
        return copy

    def connect(self):
        import psycopg

        return psycopg.connect(self.url.replace("postgres://", "postgresql://", 1), autocommit=True)


def redis_url() -> str | None:
    if url := os.environ.get("REDIS_URL"):
        return url
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '13')}"
    except OSError:
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="oauthsite-bench-"))
        self.database = BenchDatabase.prepare(self.workdir)
        self.redis_url = redis_url()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.results: dict[str, dict[str, R.Measurement]] = {name: {} for name in CONFIGS}
        self.rounds: dict[str, dict[str, list[R.Measurement]]] = {}
        self.ports: dict[str, int] = {}
        self.tokens: dict[tuple[str, str], str] = {}
        self.extra: dict[str, dict] = {}
        self.clients: dict[str, dict] = {}
        self.user: dict = {}
        self.big_database: BenchDatabase | None = None  # --scale: the copy with the big tables

    def database_of(self, config: str) -> BenchDatabase:
        return self.big_database if SERVER_OF.get(config) == "scale" else self.database

    # -- processes -------------------------------------------------------------------------
    def env(self, settings_module: str, database: BenchDatabase | None = None) -> dict[str, str]:
        database = database or self.database
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE=settings_module,
            OAUTHSITE_DEMO="1",
            OAUTHSITE_DEMO_DIR=str(self.workdir / "secrets"),
            DATABASE_URL=database.url,
            # The provider on localhost, client_app on 127.0.0.1: separate cookies (scenario 6).
            PROVIDER_APP_ISSUER=f"http://localhost:{self.port}/o",
            PYTHONPATH=str(ROOT),
            BENCH_WRK_DIR=str(WRK_DIR),
            BENCH_WRK_THREADS=str(self.args.threads),
            BENCH_CACHE_PREFIX=f"bench-{self.workdir.name}-{database.name or 'sqlite'}",
        )
        env.pop("REDIS_URL", None)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def django(
        self,
        settings_module: str,
        *argv: str,
        database: BenchDatabase | None = None,
        stdin: str | None = None,
    ) -> str:
        result = subprocess.run(
            [sys.executable, *argv],
            cwd=ROOT,
            env=self.env(settings_module, database),
            capture_output=True,
            text=True,
            input=stdin,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def fixtures(self, config: str, *argv: str) -> dict:
        # "baseline" and "scale" are provider_app, "scale" on the copy with the big tables.
        settings = CONFIGS.get(config, CONFIGS["ours"])[1]
        return json.loads(
            self.django(settings, "-m", "bench.fixtures", *argv, database=self.database_of(config))
        )

    def start_server(self, config: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [
            str(gunicorn),
            "oauthsite.wsgi:application",
            "--workers",
            str(self.args.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ]
        log(f"{config}: gunicorn with {self.args.workers} sync workers on {self.base_url}")
        settings = CONFIGS.get(config, CONFIGS["ours"])[1]
        env = {**self.env(settings, self.database_of(config)), **(extra_env or {})}
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/bench/plain", timeout=2) as response:
                    if response.status == 200:
                        return server
            except OSError:  # not listening yet, or still importing
                if server.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with status {server.returncode}")
                time.sleep(0.3)
        self.stop_server(server)
        raise RuntimeError("gunicorn did not answer within 60 s")

    @staticmethod
    def stop_server(server: subprocess.Popen) -> None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    # -- preparation -----------------------------------------------------------------------
    def prepare(self) -> None:
        log(f"database: {'PostgreSQL ' + self.database.name if self.database.is_postgres else 'SQLite'}")
        self.django(CONFIGS["ours"][1], "manage.py", "migrate", "--noinput")
        if not self.database.is_postgres:
            # WAL lets readers proceed while a worker writes; both configurations get it.
            import sqlite3

            with sqlite3.connect(self.database.url.removeprefix("sqlite:///")) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
        ours = self.fixtures("ours", "clients", "--kind", "ours")
        stock = self.fixtures("stock", "clients", "--kind", "stock")
        self.user = ours["user"]
        self.clients = {**ours["clients"], **stock["clients"]}
        for name, client in self.clients.items():
            log(f"client {name}: secret stored as {client['stored_as']}")

    # -- load ------------------------------------------------------------------------------
    def wrk(
        self,
        path: str,
        script: str,
        *script_args: str,
        headers: dict[str, str] | None = None,
        duration: float | None = None,
    ) -> R.Measurement:
        result = subprocess.run(
            self.wrk_command(path, script, *script_args, headers=headers, duration=duration),
            capture_output=True,
            text=True,
            env=self.env("unused"),
        )
        if result.returncode != 0:
            raise RuntimeError(f"wrk failed: {result.stderr}")
        return R.parse_wrk_output(result.stdout)

    def wrk_command(
        self,
        path: str,
        script: str,
        *script_args: str,
        headers: dict[str, str] | None = None,
        duration: float | None = None,
    ) -> list[str]:
        command = [
            "wrk",
            "-t",
            str(self.args.threads),
            "-c",
            str(self.args.connections),
            "-d",
            f"{duration or self.args.duration}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(WRK_DIR / script),
        ]
        for key, value in (headers or {}).items():
            command += ["-H", f"{key}: {value}"]
        return [*command, f"{self.base_url}{path}", "--", *script_args]

    def drain(self) -> None:
        """Wait until requests queued by the last scenario are served, so the next starts clean.

        wrk stops sending when its time is up, but sync workers still answer what is queued (with
        PBKDF2, seconds of work): a few sequential requests wait behind that backlog.
        """
        for _ in range(2 * self.args.workers):
            with urllib.request.urlopen(f"{self.base_url}/bench/plain", timeout=600) as response:
                response.read()

    def basic(self, client: str) -> str:
        c = self.clients[client]
        pair = f"{urllib.parse.quote(c['client_id'])}:{urllib.parse.quote(c['client_secret'])}"
        return "Basic " + base64.b64encode(pair.encode()).decode()

    def check(self, path: str, *, body: str | None = None, headers: dict[str, str], expect: str) -> None:
        """One request before the load: the scenario must succeed, or its figures mean nothing."""
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=body.encode() if body is not None else None, headers=headers
        )
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(
                f"sanity check of {path} failed: {error.code} {error.read()[:300]!r}"
            ) from error
        if expect not in payload or payload.get("active") is False:
            raise RuntimeError(f"sanity check of {path}: {expect!r} missing from {sorted(payload)}")

    def single_use_bodies(self, config: str, kind: str, client: str, count: int) -> Path:
        out = self.workdir / f"{config}-{kind}.txt"
        self.fixtures(
            config,
            kind,
            "--client-id",
            self.clients[client]["client_id"],
            "--count",
            str(count + 1),
            "--out",
            str(out),
        )
        lines = out.read_text().splitlines()
        self.check(
            "/o/token/",
            body=lines[0],
            headers={"Authorization": self.basic(client)},
            expect="id_token" if kind == "codes" else "refresh_token",
        )
        out.write_text("\n".join(lines[1:]) + "\n")
        return out

    def measure(self, config: str, scenario: str, run) -> None:
        """One measurement; the reported figure is the median of the rounds (see run_all)."""
        self.use(config)
        self.database_of(config).settle()
        log(f"{config}: {SCENARIOS[scenario]}")
        measurement = run()
        self.drain()
        self.rounds.setdefault(config, {}).setdefault(scenario, []).append(measurement)
        by_rate = sorted(self.rounds[config][scenario], key=lambda m: m.rps)
        self.results.setdefault(config, {})[scenario] = by_rate[(len(by_rate) - 1) // 2]
        flag = f", {measurement.errors} errors" if measurement.errors else ""
        flag += ", ran out of single-use bodies" if measurement.exhausted else ""
        log(
            f"    {measurement.rps:,.0f} req/s, "
            f"p50 {R.format_latency(measurement.latency_us.get('50'))}{flag}"
        )

    def use(self, config: str) -> None:
        """Point the requests at the server that runs ``config``."""
        self.port = self.ports[SERVER_OF[config]]
        self.base_url = f"http://127.0.0.1:{self.port}"

    def prefix(self, config: str) -> str:
        """Whose clients a configuration uses: provider_app's for every provider_app server."""
        return "ours" if config in ("baseline", "scale") or config in L.LAYERS else config

    def measure_cc(self, config: str) -> None:
        prefix, body = self.prefix(config), CC_BODY
        self.use(config)
        self.check(
            "/o/token/",
            body=body,
            headers={"Authorization": self.basic(f"{prefix}-cc")},
            expect="access_token",
        )
        self.measure(
            config,
            "cc",
            lambda: self.wrk("/o/token/", "post_fixed.lua", "/o/token/", body, self.basic(f"{prefix}-cc")),
        )

    def measure_exchange(self, config: str) -> None:
        # The same subject token every time: an exchange consumes nothing, each one issues a token.
        if (config, "exchange") not in self.tokens:
            self.tokens[(config, "exchange")] = self.fixtures(config, "exchange")["body"]
        body, auth = self.tokens[(config, "exchange")], self.basic("ours-rs")
        self.use(config)
        self.check("/o/token/", body=body, headers={"Authorization": auth}, expect="issued_token_type")
        self.measure(
            config, "exchange", lambda: self.wrk("/o/token/", "post_fixed.lua", "/o/token/", body, auth)
        )

    def measure_single_use(self, config: str, kind: str) -> None:
        # A code exchange or a refresh costs more than client_credentials: its best rate so far
        # bounds how many single-use bodies one measurement can consume.
        prefix = self.prefix(config)
        # Without client_credentials in this run (--only), a quarter of the DRF floor bounds it.
        by_scenario = self.rounds.get(config, {})
        floors = by_scenario.get("drf") or self.rounds[SERVER_OF[config]]["drf"]
        bound = [m.rps for m in by_scenario.get("cc", [])] or [m.rps / 4 for m in floors]
        count = min(self.args.max_single_use, math.ceil(max(bound) * self.args.duration * 2) + 50)
        self.use(config)
        bodies = self.single_use_bodies(config, kind, f"{prefix}-code", count)
        self.measure(
            config,
            "code" if kind == "codes" else "refresh",
            lambda: self.wrk(
                "/o/token/", "post_once.lua", "/o/token/", str(bodies), self.basic(f"{prefix}-code")
            ),
        )

    def bearer_for(self, config: str, scope: str) -> str:
        key = (config, scope)
        if key not in self.tokens:
            client = f"{self.prefix(config)}-code"
            self.tokens[key] = self.fixtures(config, "bearer", "--client-id", client, "--scope", scope)[
                "access_token"
            ]
        return self.tokens[key]

    def measure_me(self, config: str) -> None:
        bearer = {"Authorization": f"Bearer {self.bearer_for(config, 'openid profile email')}"}
        self.use(config)
        self.check("/api/me", headers=bearer, expect="sub")
        self.wrk("/api/me", "report.lua", headers=bearer, duration=1)  # warm every worker
        self.measure(config, "me", lambda: self.wrk("/api/me", "report.lua", headers=bearer))

    def measure_introspection(self, config: str) -> None:
        prefix = self.prefix(config)
        body = urllib.parse.urlencode({"token": self.bearer_for(config, "openid profile")})
        auth = {"Authorization": self.basic(f"{prefix}-rs")}
        self.use(config)
        self.check("/o/introspect/", body=body, headers=auth, expect="active")
        self.measure(
            config,
            "introspect",
            lambda: self.wrk(
                "/o/introspect/", "post_fixed.lua", "/o/introspect/", body, auth["Authorization"]
            ),
        )

    def measure_floors(self, config: str) -> None:
        self.use(config)
        self.wrk("/bench/drf", "report.lua", duration=1)  # warm every worker
        for scenario, path in (("plain", "/bench/plain"), ("drf", "/bench/drf")):
            self.measure(config, scenario, lambda path=path: self.wrk(path, "report.lua"))

    def run_all(self, configs: list[str]) -> None:
        """Every scenario, ``--rounds`` times, alternating the configurations round by round.

        The machine may be shared: alternating keeps a burst of load from other processes from
        landing on one configuration only, and the median of the rounds is what is reported.
        """
        servers = {}
        try:
            for server in dict.fromkeys(SERVER_OF[c] for c in configs):
                self.ports[server] = free_port()
                self.use(server)
                servers[server] = self.start_server(server)
            self.run_rounds(configs)
            if "ours" in configs:
                self.use("ours")
                self.check_revocation(self.bearer_for("ours", "openid profile email"))
                if self.wanted("login"):
                    self.run_login_scenario()
                if self.wanted("service"):
                    from bench import services

                    services.run(self, CONFIGS, SERVER_OF)
        finally:
            for server in servers.values():
                self.stop_server(server)

    def wanted(self, scenario: str) -> bool:
        return not self.args.only or scenario in self.args.only

    def run_rounds(self, configs: list[str]) -> None:
        servers = [c for c in configs if c != "plain"]  # "plain" is the stock server's floors
        for r in range(self.args.rounds):
            for config in in_order(servers, r):
                self.measure_floors(config)
        steps = {
            "cc": self.measure_cc,
            "code": lambda c: self.measure_single_use(c, "codes"),
            "refresh": lambda c: self.measure_single_use(c, "refresh"),
        }
        for scenario, step in steps.items():
            if not self.wanted(scenario):
                continue
            for r in range(self.args.rounds):
                for config in in_order(configs, r):
                    step(config)
        if self.wanted("exchange"):
            for r in range(self.args.rounds):
                for config in in_order(configs, r):
                    if self.prefix(config) == "ours":  # stock DOT has no token exchange
                        self.measure_exchange(config)
        for r in range(self.args.rounds):
            for config in in_order(servers, r):
                if self.wanted("me"):
                    self.measure_me(config)
            for config in in_order(configs, r):
                if self.wanted("introspect"):
                    self.measure_introspection(config)

    def probe_layers(self, configs: list[str]) -> None:
        """Before the load: what provider_app and each configuration with a layer off really do.

        ``python -m bench.layers probe`` runs once per configuration, with its settings: the SQL
        statements and Redis round trips of one code exchange and one ``GET /api/me``, the
        statements prepared on the connection. A configuration that does not differ from "ours"
        the way it claims is reported (and logged), not hidden.
        """
        client = self.clients["ours-code"]
        stdin = json.dumps({"client_id": client["client_id"], "client_secret": client["client_secret"]})
        probes = {}
        for config in configs:
            if config == "ours" or config in L.LAYERS:
                output = self.django(CONFIGS[config][1], "-m", "bench.layers", "probe", stdin=stdin)
                probes[config] = json.loads(output)
                log(f"probe {config}: {probes[config]}")
        self.extra["layers_probe"] = probes
        self.extra["layers_problems"] = L.problems(probes)
        for problem in self.extra["layers_problems"]:
            log(f"WARNING: {problem}")

    def check_revocation(self, access_token: str) -> None:
        """RFC 7009 revocation, then requests spread over every worker: none may be accepted."""
        bearer = {"Authorization": f"Bearer {access_token}"}
        body = urllib.parse.urlencode({"token": access_token, "token_type_hint": "access_token"})
        request = urllib.request.Request(
            f"{self.base_url}/o/revoke_token/",
            data=body.encode(),
            headers={
                "Authorization": self.basic("ours-code"),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
        attempts = 20 * self.args.workers
        accepted = 0
        for _ in range(attempts):
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(f"{self.base_url}/api/me", headers=bearer)
                ):
                    accepted += 1
            except urllib.error.HTTPError as error:
                if error.code != 401:
                    raise
        self.extra["revocation"] = (
            f"after revocation, {accepted} of {attempts} requests with the token accepted"
        )
        log(f"revocation: {self.extra['revocation']}")
        if accepted:
            raise RuntimeError("a revoked token was accepted: " + self.extra["revocation"])

    def run_login_scenario(self) -> None:
        try:
            from bench import login_driver
        except ImportError:
            log("(6) skipped: bench/login_driver.py is not available")
            return
        reason = login_driver.unavailable_reason()
        if reason:
            log(f"(6) skipped: {reason}")
            self.extra["login_skipped"] = reason
            return
        login_driver.setup(self)
        self.measure("ours", "login", lambda: login_driver.run(self))

    # -- scale -----------------------------------------------------------------------------
    def run_scale(self) -> None:
        """(1) and (4) with a million more rows in each token table, then the cleanup.

        The big tables live in a copy of the benchmark's database, served by a second provider_app
        server; both are measured side by side, round by round, because this machine's speed drifts
        more over ten minutes than the effect being measured.
        """
        from bench import scale

        if not self.database.is_postgres:
            raise SystemExit("--scale needs PostgreSQL: set DATABASE_URL")
        log("scale: copying the database")
        self.big_database = self.database.copy("big")
        log(f"scale: inserting {self.args.scale:,} expired access and refresh tokens into the copy")
        self.extra["scale_insert_s"] = scale.insert_expired_tokens(self.big_database, self.args.scale)
        self.extra["scale_rows"] = scale.table_rows(self.big_database)
        only, self.args.only = self.args.only, {"code", "me"}
        try:
            self.run_all(["baseline", "scale"])
        finally:
            self.args.only = only
        log("scale: clear_expired_tokens")
        self.extra["cleanup"] = scale.run_cleanup(self, self.big_database)
        self.extra["scale_rows_after"] = scale.table_rows(self.big_database)

    # -- report ----------------------------------------------------------------------------
    def report(self) -> str:
        lines = [machine_summary(self), ""]
        rows = []
        for config, by_scenario in self.results.items():
            floors = self.results.get("stock" if config == "plain" else config, {})
            for scenario, m in by_scenario.items():
                rows.append(
                    [
                        SCENARIOS[scenario],
                        self.label(config),
                        f"{m.rps:,.0f}",
                        *(R.format_latency(m.latency_us.get(p)) for p in R.PERCENTILES),
                        str(m.errors) + (" (ran out)" if m.exhausted else ""),
                        R.ratio(m.rps, floors.get("plain") and floors["plain"].rps),
                        R.ratio(m.rps, floors.get("drf") and floors["drf"].rps),
                    ]
                )
        headers = ["scenario", "configuration", "req/s", "p50", "p90", "p99", "errors", "/plain", "/drf"]
        lines += [R.format_table(headers, rows), ""]
        lines += [self.comparison(), ""]
        if any(self.results.get(c) for c in L.LAYERS):
            lines += [self.layers_report(), ""]
        if "revocation" in self.extra:
            lines += [
                f"Revoked token (RFC 7009), then /api/me on every worker: {self.extra['revocation']}.",
                "",
            ]
        if "service_calls" in self.extra:
            calls = ", ".join(f"{self.label(c)}: {n}" for c, n in self.extra["service_calls"].items())
            lines += [f"(7) the services' requests to the provider during the measured runs: {calls}.", ""]
            revocation = "; ".join(
                f"{self.label(c)}: {text}" for c, text in self.extra.get("service_revocation", {}).items()
            )
            lines += [f"(7) a token revoked at the provider: {revocation}.", ""]
        if "e3" in self.extra:
            lines += [f"(7c) E3, revocation to refusal under load: {self.extra['e3']}.", ""]
        if "scale" in self.results:
            lines += [self.scale_report(), ""]
        return "\n".join(lines)

    def label(self, config: str) -> str:
        if config == "baseline":
            return "provider_app, beside the big tables"
        if config == "scale":
            return f"provider_app, +{self.args.scale:,} token rows"
        return CONFIGS[config][0]

    def comparison(self) -> str:
        ours, stock, plain = self.results["ours"], self.results["stock"], self.results["plain"]
        targets = {"code": (50, 1.2), "cc": (50, 1.2), "me": (3, None)}
        rows = []
        for scenario in ("code", "cc", "refresh", "me", "introspect"):
            if scenario not in ours:
                continue
            o = ours[scenario].rps
            s = stock.get(scenario) and stock[scenario].rps
            p = plain.get(scenario) and plain[scenario].rps
            target, verdict = "-", "-"
            if scenario in targets:
                need_stock, need_plain = targets[scenario]
                target = f">= {need_stock}x stock" + (f", >= {need_plain}x plain" if need_plain else "")
                ok = bool(s) and o / s >= need_stock and (not need_plain or (bool(p) and o / p >= need_plain))
                if scenario == "me":
                    target += ", >= 0.60 of DRF floor"
                    ok = ok and o / ours["drf"].rps >= 0.6
                verdict = "met" if ok else "NOT met"
                if not s or (need_plain and not p):
                    verdict = "-"  # stock DOT was not measured in this run
            rows.append(
                [
                    SCENARIOS[scenario],
                    f"{o:,.0f}",
                    f"{s:,.1f}" if s else "-",
                    R.ratio(o, s),
                    f"{p:,.0f}" if p else "-",
                    R.ratio(o, p),
                    target,
                    verdict,
                ]
            )
        headers = [
            "scenario",
            "ours req/s",
            "stock req/s",
            "ours/stock",
            "plain req/s",
            "ours/plain",
            "target",
            "",
        ]
        return R.format_table(headers, rows)

    def layer_ratios(self) -> dict[str, dict[str, float | None]]:
        """Each configuration with a layer off: its req/s divided by provider_app's, per scenario."""
        others = {c: self.results[c] for c in L.LAYERS if self.results.get(c)}
        return R.ratios_to(self.results.get("ours", {}), others, L.RATIO_SCENARIOS)

    def layers_report(self) -> str:
        """What each layer buys: the configurations with one layer off against provider_app."""
        ours, ratios = self.results["ours"], self.layer_ratios()
        headers = ["scenario", "ours req/s"]
        for config in ratios:
            headers += [f"{config} req/s", "/ours"]
        rows = []
        for scenario in L.RATIO_SCENARIOS:
            if scenario not in ours:
                continue
            row = [SCENARIOS[scenario], f"{ours[scenario].rps:,.0f}"]
            for config in ratios:
                m = self.results[config].get(scenario)
                ratio = ratios[config].get(scenario)
                row += [f"{m.rps:,.0f}" if m else "-", f"{ratio:.2f}" if ratio is not None else "-"]
            rows.append(row)
        text = [
            "provider_app with one performance layer off, each on its own server (ratio below 1: "
            "the layer pays for itself; the DRF floor row shows how much two servers differ with "
            "nothing to tell them apart):",
            "",
            *(f"- {c}: {L.LAYERS[c][2]}" for c in ratios),
            "",
            R.format_table(headers, rows),
        ]
        if probes := self.extra.get("layers_probe"):
            text += ["", "Checked before the load, in one process with each configuration's settings:", ""]
            text.append(
                R.format_table(
                    [
                        "configuration",
                        "token cache",
                        "local copies",
                        "code exchange: SQL / Redis",
                        "/api/me: SQL / Redis",
                        "prepared statements",
                    ],
                    [
                        [
                            c,
                            p["token_cache"] or "none",
                            "yes" if p["local_cache"] else "no",
                            f"{p['code']['statements']} / {p['code']['redis']}",
                            f"{p['me']['statements']} / {p['me']['redis']}",
                            "-" if p["prepared_statements"] is None else str(p["prepared_statements"]),
                        ]
                        for c, p in probes.items()
                    ],
                )
            )
        for problem in self.extra.get("layers_problems", []):
            text.append(f"NOT AS CLAIMED: {problem}.")
        return "\n".join(text)

    def scale_report(self) -> str:
        """(1) and (4) with big tables against the same on the benchmark's database, measured side
        by side; as req/s and, because other processes share the machine, also relative to the DRF
        floor each server measured in the same rounds."""
        base, scaled = self.results["baseline"], self.results["scale"]
        base_floor, scaled_floor = base["drf"].rps, scaled["drf"].rps
        rows = []
        for k in ("code", "me"):
            normalised = (scaled[k].rps / scaled_floor) / (base[k].rps / base_floor)
            rows.append(
                [
                    SCENARIOS[k],
                    f"{base[k].rps:,.0f}",
                    f"{scaled[k].rps:,.0f}",
                    f"{scaled[k].rps / base[k].rps:.2f}",
                    f"{normalised:.2f}",
                    "met" if normalised >= 0.8 else "NOT met",
                ]
            )
        rows = [
            ["floor: DRF view (each server)", f"{base_floor:,.0f}", f"{scaled_floor:,.0f}",
             f"{scaled_floor / base_floor:.2f}", "-", "-"],
            *rows,
        ]  # fmt: skip
        rows_table = R.format_table(
            ["scenario", "small tables", "big tables", "ratio", "ratio / floor ratio", "within 20%"], rows
        )
        cleanup = self.extra["cleanup"]
        text = [
            f"Token tables before: {self.extra['scale_rows']} "
            f"(insert took {self.extra['scale_insert_s']:.0f} s)",
            rows_table,
            "",
            f"clear_expired_tokens: {cleanup['seconds']:.1f} s, peak RSS {cleanup['peak_rss_mb']:.0f} MB, "
            f"{cleanup['summary']}",
            f"Token tables after: {self.extra['scale_rows_after']}",
        ]
        return "\n".join(text)


def in_order(configs: list[str], round_index: int) -> list[str]:
    """The configurations in the order of one round.

    With configurations that have a layer off, each round starts one configuration further along,
    so that over as many rounds as configurations each one runs once in every position: on this
    kind of machine the second of two write-heavy measurements is slower whichever it is
    (docs/performance.md, issue 12's before and after), and a fixed order would put that on the
    same configurations every round. The default run (ours, stock) keeps its fixed order.
    """
    if not any(c in L.LAYERS for c in configs):
        return configs
    shift = round_index % len(configs)
    return configs[shift:] + configs[:shift]


def machine_summary(harness: Harness) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    a = harness.args
    database = "PostgreSQL" if harness.database.is_postgres else "SQLite (WAL)"
    cache = "Redis" if harness.redis_url else "local memory"
    return (
        f"Machine: {os.cpu_count()} CPUs ({cpu}){memory}. Server: gunicorn, {a.workers} sync workers; "
        f"database {database}; provider_app cache {cache}. Load: wrk -t{a.threads} -c{a.connections} "
        f"-d{a.duration}s per measurement, {a.rounds} rounds alternating the configurations, median "
        "reported; everything on the same machine."
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per scenario (default 8)")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="gunicorn workers")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per scenario, alternating configurations (3)"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--configs",
        default="ours,stock",
        help="ours,stock (stock includes plain-text secrets); provider_app with a layer off: "
        + ",".join(L.LAYERS),
    )
    parser.add_argument("--scale", type=int, default=0, help="PostgreSQL: rows to add to the token tables")
    parser.add_argument(
        "--max-single-use", type=int, default=60000, help="cap on codes/refresh tokens per run"
    )
    parser.add_argument(
        "--only",
        type=lambda v: {s.strip() for s in v.split(",") if s.strip()},
        default=set(),
        help="measure only these scenarios (cc,code,refresh,me,introspect,login,service,exchange); "
        "floors always run",
    )
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.scale and args.only and not {"code", "me"} <= args.only:
        parser.error("--scale compares (1) and (4): --only must include code and me")
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if unknown := [c for c in configs if c not in CONFIGS or c == "plain"]:
        parser.error(
            f"unknown configuration(s) {', '.join(unknown)}: choose from ours, stock, " + ", ".join(L.LAYERS)
        )
    if "ours" not in configs and any(c in L.LAYERS for c in configs):
        parser.error("the configurations with a layer off are compared with ours: add ours to --configs")
    if shutil.which("wrk") is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    harness = Harness(args)
    try:
        harness.prepare()
        if any(c in L.LAYERS for c in configs):
            harness.probe_layers(configs)
        if "stock" in configs:
            configs.append("plain")  # the same stock server, clients with plain-text secrets
        harness.run_all(configs)
        if args.scale:
            harness.run_scale()
        print(harness.report())
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "results": {
                            c: {s: vars(m) for s, m in r.items()} for c, r in harness.results.items()
                        },
                        "extra": harness.extra,
                        "ratios_to_ours": harness.layer_ratios(),
                        "machine": machine_summary(harness),
                    },
                    indent=2,
                    default=str,
                )
            )
    finally:
        if not args.keep:
            harness.database.drop()
            if harness.big_database is not None:
                harness.big_database.drop()
            shutil.rmtree(harness.workdir, ignore_errors=True)
        else:
            log(f"kept {harness.workdir} and the database")
    return 0


if __name__ == "__main__":
    sys.exit(main())
