"""(7) A service protected by resource_app (issue 13): JWT mode, introspection with its cache, and
introspection without cache, each a gunicorn of its own (bench/settings_service.py) in front of
the provider_app server the harness already runs. Each is measured against the DRF floor of the
same service server, round by round, and the service's calls to the provider during the measured
runs are counted (bench/urls_service.py counts them in every worker).

(7b) The same service in introspection mode (its cache on) preparing a call to another service for
the user: the user's token exchanged for one for the other service (RFC 8693,
resource_app.calls.for_user) and kept by the process: after the first exchange per worker, the
path costs no request to the provider, which the count of calls shows.

(7c) E3: the JWT-mode service receives revocation events (its deny-list on, a migrated SQLite file,
the receiver at ``events/``, registered as the resource's events URI) from the provider's task worker
(``db_worker`` polling every :data:`WORKER_INTERVAL` seconds). Its throughput rounds run with the
deny-list on; then, under wrk load, :data:`E3_REVOCATIONS` tokens are revoked one after another at
the provider and each is asked for until the service refuses it: p50, p99 and max of that latency."""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench import results

#: configuration -> (the service's audience, the resource's token format, mode, cache seconds)
SERVICES = {
    "svc-jwt": ("https://bench.invalid/notes/", "jwt", "jwt", 30),
    "svc-introspect": ("https://bench.invalid/files/", "opaque", "introspection", 30),
    "svc-introspect-nocache": ("https://bench.invalid/files/", "opaque", "introspection", 0),
}
SETTINGS = "bench.settings_service"
CALLING = "svc-call"
#: The service that receives revocation events (E3), the provider's worker's polling interval, and
#: how many tokens are revoked under load.
E3_CONFIG = "svc-jwt"
WORKER_INTERVAL = "0.05"
E3_REVOCATIONS = 30
ROOT = Path(__file__).resolve().parent.parent


def run(harness, configs: dict, server_of: dict) -> None:
    issuer = f"http://localhost:{harness.ports['ours']}/o"
    for audience, token_format in {(a, f) for a, f, _, _ in SERVICES.values()}:
        harness.django(
            configs["ours"][1], "manage.py", "provider_app_register_resource",
            "--identifier", audience, "--name", audience, "--scopes", "notes:read",
            "--token-format", token_format, "--allow-client", harness.clients["ours-cc"]["client_id"],
            "--client", harness.clients["ours-rs"]["client_id"],
        )  # fmt: skip
    for config, (audience, _, mode, cache_seconds) in SERVICES.items():
        configs[config] = (
            f"a service, resource_app {mode} mode" + ("" if cache_seconds else ", no cache"),
            SETTINGS,
        )
        server_of[config] = config
        harness.ports[config] = _free_port()
        harness.use(config)
        env = {
            "BENCH_PROVIDER_ISSUER": issuer,
            "BENCH_SERVICE_AUDIENCE": audience,
            "BENCH_SERVICE_MODE": mode,
            "BENCH_SERVICE_CACHE_SECONDS": str(cache_seconds),
            "BENCH_SERVICE_CLIENT_ID": harness.clients["ours-rs"]["client_id"],
            "BENCH_SERVICE_CLIENT_SECRET": harness.clients["ours-rs"]["client_secret"],
        }
        worker = None
        if config == E3_CONFIG:
            env.update(_receiving_events(harness, configs, config, audience))
            worker = _start_delivery_worker(harness, configs)
        token = _token(harness, audience)  # its own: it is revoked at the end
        harness.use(config)
        server = harness.start_server(config, extra_env=env)
        try:
            bearer = {"Authorization": f"Bearer {token}"}
            harness.check("/bench/service", headers=bearer, expect="sub")
            harness.wrk("/bench/service", "report.lua", headers=bearer, duration=1)  # every worker warm
            before = _provider_calls(harness)
            for _ in range(harness.args.rounds):
                harness.measure_floors(config)
                harness.measure(
                    config, "service", lambda b=bearer: harness.wrk("/bench/service", "report.lua", headers=b)
                )
            harness.extra.setdefault("service_calls", {})[config] = _provider_calls(harness) - before
            if worker is not None:
                harness.extra["e3"] = _e3_latency(harness, config, audience, bearer)
            harness.extra.setdefault("service_revocation", {})[config] = _revocation_latency(
                harness, config, token, bearer, limit=cache_seconds + 5 if mode != "jwt" else 5
            )
        finally:
            harness.stop_server(server)
            if worker is not None:
                harness.stop_server(worker)
    _run_calling_service(harness, configs, server_of, issuer)


def _receiving_events(harness, configs: dict, config: str, audience: str) -> dict[str, str]:
    """The service's own migrated database (WAL), its events URI registered at the provider; the
    environment that turns its deny-list on."""
    database = harness.workdir / f"{config}.sqlite3"
    env = {"BENCH_SERVICE_DATABASE": str(database), "BENCH_SERVICE_DENY_LIST": "1"}
    command = [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks"]
    subprocess.run(command, cwd=ROOT, env={**harness.env(SETTINGS), **env}, check=True, capture_output=True)
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    harness.django(
        configs["ours"][1], "manage.py", "provider_app_register_resource",
        "--identifier", audience, "--name", audience, "--scopes", "notes:read", "--token-format", "jwt",
        "--events-uri", f"http://127.0.0.1:{harness.ports[config]}/events/",
    )  # fmt: skip
    return env


def _start_delivery_worker(harness, configs: dict) -> subprocess.Popen:
    """The provider's task worker (django-tasks-db), polling every WORKER_INTERVAL seconds."""
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"]
    command += ["--interval", WORKER_INTERVAL]
    return subprocess.Popen(command, cwd=ROOT, env=harness.env(configs["ours"][1]))


def _status(harness, bearer: dict) -> int:
    try:
        request = urllib.request.Request(f"{harness.base_url}/bench/service", headers=bearer)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _e3_latency(harness, config: str, audience: str, load_bearer: dict) -> str:
    """Under wrk load on the service (another token), revoke E3_REVOCATIONS tokens one after
    another. For each, from sending the revocation: the service's first refusal (the worker that
    received the event), and the start of an unbroken run of ``4 x workers`` refusals (every worker:
    the others read the deny-list within one sync interval)."""
    harness.use(config)
    duration = max(harness.args.duration, E3_REVOCATIONS) + 5
    command = harness.wrk_command("/bench/service", "report.lua", headers=load_bearer, duration=duration)
    load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first, every, loaded_until = [], [], time.monotonic() + duration
    time.sleep(1)  # the load is on
    for _ in range(E3_REVOCATIONS):
        bearer = {"Authorization": f"Bearer {_token(harness, audience)}"}
        harness.use(config)
        if _status(harness, bearer) != 200:
            raise RuntimeError("a fresh token was not accepted")
        start = time.monotonic()
        _post_to_provider(harness, "/o/revoke_token/", {"token": bearer["Authorization"][7:]})
        harness.use(config)
        first_refusal, streak_start, streak = None, None, 0
        while streak < 4 * harness.args.workers:
            if time.monotonic() - start > 30:
                raise RuntimeError("a revoked token was still accepted 30 s after its revocation")
            now = time.monotonic()
            if _status(harness, bearer) == 401:
                first_refusal = first_refusal or now
                streak_start, streak = streak_start or now, streak + 1
            else:
                streak_start, streak = None, 0
                time.sleep(0.005)
        first.append(first_refusal - start)
        every.append(streak_start - start)
    under_load = time.monotonic() < loaded_until
    output, errors = load.communicate()
    if load.returncode != 0:
        raise RuntimeError(f"wrk failed: {errors}")
    measurement = results.parse_wrk_output(output)
    summary = (
        f"{E3_REVOCATIONS} revocations at the provider, each until refused: by the first worker "
        f"{_percentiles(first)}; by every worker {_percentiles(every)} (db_worker --interval "
        f"{WORKER_INTERVAL}, deny-list sync 0.5 s); the load meanwhile {measurement.rps:,.0f} req/s"
        + ("" if under_load else " (the last revocations ran after the load ended)")
    )
    print(f"[bench] E3: {summary}", file=sys.stderr, flush=True)
    return summary


def _percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms"
    )


def _run_calling_service(harness, configs: dict, server_of: dict, issuer: str) -> None:
    """(7b): service A (the bench's ``ours-rs`` client, fixtures.create_exchange) calls B for the user."""
    from urllib.parse import parse_qs

    from bench.fixtures import EXCHANGE_SOURCE, EXCHANGE_TARGET

    form = parse_qs(harness.fixtures("ours", "exchange")["body"])
    bearer = {"Authorization": f"Bearer {form['subject_token'][0]}"}
    configs[CALLING] = ("a service calling another for the user, exchanged token kept", SETTINGS)
    server_of[CALLING] = CALLING
    harness.ports[CALLING] = _free_port()
    harness.use(CALLING)
    env = {
        "BENCH_PROVIDER_ISSUER": issuer,
        "BENCH_SERVICE_AUDIENCE": EXCHANGE_SOURCE,
        "BENCH_SERVICE_MODE": "introspection",
        "BENCH_SERVICE_CACHE_SECONDS": "30",
        "BENCH_SERVICE_CLIENT_ID": harness.clients["ours-rs"]["client_id"],
        "BENCH_SERVICE_CLIENT_SECRET": harness.clients["ours-rs"]["client_secret"],
        "BENCH_CALL_AUDIENCE": EXCHANGE_TARGET,
    }
    server = harness.start_server(CALLING, extra_env=env)
    try:
        harness.check("/bench/service-call", headers=bearer, expect="ready")
        harness.wrk("/bench/service-call", "report.lua", headers=bearer, duration=1)  # every worker warm
        before = _provider_calls(harness)
        for _ in range(harness.args.rounds):
            harness.measure_floors(CALLING)
            harness.measure(
                CALLING,
                "service-call",
                lambda: harness.wrk("/bench/service-call", "report.lua", headers=bearer),
            )
        harness.extra.setdefault("service_calls", {})[CALLING] = _provider_calls(harness) - before
    finally:
        harness.stop_server(server)


def _revocation_latency(harness, config: str, token: str, bearer: dict, limit: float) -> str:
    """Revoke the token at the provider (RFC 7009), then ask the service until it refuses it."""
    import time

    _post_to_provider(harness, "/o/revoke_token/", {"token": token, "token_type_hint": "access_token"})
    revoked_at = time.monotonic()
    harness.use(config)
    while time.monotonic() - revoked_at < limit:
        try:
            with urllib.request.urlopen(
                urllib.request.Request(f"{harness.base_url}/bench/service", headers=bearer), timeout=30
            ):
                pass
        except urllib.error.HTTPError as error:
            if error.code == 401:
                return f"refused {time.monotonic() - revoked_at:.2f} s after the revocation"
            raise
        time.sleep(0.05)
    return f"still accepted {limit:.0f} s after the revocation (until the token expires)"


def _token(harness, audience: str) -> str:
    form = {"grant_type": "client_credentials", "scope": "notes:read", "resource": audience}
    return _post_to_provider(harness, "/o/token/", form)["access_token"]


def _post_to_provider(harness, path: str, form: dict) -> dict:
    """A form POST to the provider_app server as the bench's client_credentials client."""
    harness.use("ours")
    request = urllib.request.Request(
        f"{harness.base_url}{path}",
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Authorization": harness.basic("ours-cc"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body.strip() else {}


def _provider_calls(harness) -> int:
    """The calls every worker of the current service server made so far (asked until each answered)."""
    seen: dict[int, int] = {}
    for _ in range(500):  # the kernel may hand most connections to one worker: ask until all answered
        with urllib.request.urlopen(f"{harness.base_url}/bench/provider-calls", timeout=30) as response:
            answer = json.loads(response.read())
        seen[answer["pid"]] = max(seen.get(answer["pid"], 0), answer["calls"])
        if len(seen) == harness.args.workers:
            break
    else:
        raise RuntimeError(f"only {len(seen)} of {harness.args.workers} service workers answered")
    return sum(seen.values())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
