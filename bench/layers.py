"""provider_app with one performance layer turned off: the benchmark's extra configurations.

Each configuration is provider_app as shipped (``bench.settings_ours``) with one thing changed, in
its own settings module and served by its own gunicorn, measured side by side with "ours" in the
same run (``bench/run.py --configs ours,ours-no-local,...``); the report prints each one's req/s
divided by provider_app's, scenario by scenario. All of them use the "ours" clients and database.

Before the load, ``python -m bench.layers probe`` runs in one process with a configuration's
settings and checks what that configuration really does: one code exchange and ``GET /api/me``
through Django's test client, counting SQL statements and Redis round trips, and, on PostgreSQL,
the statements prepared on the connection. :func:`problems` compares each configuration's probe
with provider_app's and says when one does not differ the way it claims (on SQLite, or without
Redis, several of them cannot).
"""

from __future__ import annotations

import json
import sys

#: name -> (label in the report, settings module, what is turned off)
LAYERS = {
    "ours-no-local": (
        "provider_app, no per-process copies",
        "bench.settings_ours_no_local",
        "PROVIDER_APP_TOKEN_LOCAL_CACHE = False: every bearer lookup asks Redis",
    ),
    "ours-no-cache": (
        "provider_app, no token cache",
        "bench.settings_ours_no_cache",
        "PROVIDER_APP_TOKEN_CACHE = None: tokens and clients from the database on every request",
    ),
    "ours-row-by-row": (
        "provider_app, rows saved one by one",
        "bench.settings_ours_row_by_row",
        "a no-op post_save receiver on the access token model: Model.save() row after row",
    ),
    "ours-unprepared": (
        "provider_app, no prepared statements",
        "bench.settings_ours_unprepared",
        "DATABASE_PREPARED_STATEMENTS=0: client-side binding, nothing prepared (PostgreSQL)",
    ),
}

#: Scenarios (and the DRF floor, to show how much two servers differ with nothing to tell them
#: apart) in the table of ratios to provider_app.
RATIO_SCENARIOS = ("drf", "cc", "code", "refresh", "me", "introspect", "exchange")


def problems(probes: dict[str, dict]) -> list[str]:
    """Each configuration whose probe does not differ from provider_app's the way it claims.

    On SQLite, or without Redis, provider_app as shipped has no token cache, no batch in one
    statement and no prepared statements: the configurations that turn them off are then listed
    here, since they measure nothing.
    """
    ours = probes.get("ours")
    if ours is None:
        return []
    expected = {
        "ours-no-local": lambda p: (
            ours["local_cache"] and not p["local_cache"] and p["me"]["redis"] > ours["me"]["redis"]
        ),
        "ours-no-cache": lambda p: (
            ours["token_cache"] is not None
            and p["token_cache"] is None
            and p["code"]["redis"] == p["me"]["redis"] == 0
            and p["me"]["statements"] > ours["me"]["statements"]
        ),
        "ours-row-by-row": lambda p: p["code"]["statements"] > ours["code"]["statements"],
        "ours-unprepared": lambda p: (ours["prepared_statements"] or 0) > 0 and p["prepared_statements"] == 0,
    }
    return [
        f"{config} does not differ from ours as it claims: {_facts(probes[config])} (ours: {_facts(ours)})"
        for config, holds in expected.items()
        if config in probes and not holds(probes[config])
    ]


def _facts(p: dict) -> str:
    return (
        f"token cache {p['token_cache'] or 'none'}, local copies {'on' if p['local_cache'] else 'off'}, "
        f"code exchange {p['code']['statements']} SQL / {p['code']['redis']} Redis, "
        f"/api/me {p['me']['statements']} SQL / {p['me']['redis']} Redis, "
        f"{p['prepared_statements']} prepared"
    )


# -- the probe (runs with a configuration's settings) ---------------------------------------------


def sent_statements(logged: list[str]) -> int:
    """The statements of Django's query log that reached the database.

    Django logs ``BEGIN`` when it turns autocommit off and ``COMMIT`` when it commits, but psycopg
    sends neither for a transaction in which nothing was executed: such a pair is not counted.
    """
    count, pending_begin = 0, False
    for sql in logged:
        if sql == "BEGIN":
            pending_begin = True
        elif sql == "COMMIT" and pending_begin:
            pending_begin = False
        else:
            count += 1 + pending_begin
            pending_begin = False
    return count


class RedisRoundTrips:
    """Counts what this process sends to Redis while in use (each send is a round trip: a command
    or a pipeline). The probe's process only: what provider_app sends is counted, nothing changes."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> RedisRoundTrips:
        from redis.connection import AbstractConnection

        self._send = send = AbstractConnection.send_packed_command
        counter = self

        def counted(connection, command, check_health=True):
            counter.count += 1
            return send(connection, command, check_health)

        AbstractConnection.send_packed_command = counted
        return self

    def __exit__(self, *exc) -> None:
        from redis.connection import AbstractConnection

        AbstractConnection.send_packed_command = self._send


def probe(client_id: str, client_secret: str, *, host: str | None = None, exchanges: int = 7) -> dict:
    """One configuration, in this process: statements and Redis round trips of one code exchange
    and one ``GET /api/me`` (after warm-up requests, as a worker serves them), the statements
    PostgreSQL prepared on the connection, and which caches provider_app decided to use."""
    with RedisRoundTrips() as redis:
        return _probe(client_id, client_secret, host, exchanges, redis)


def _probe(client_id: str, client_secret: str, host: str | None, exchanges: int, redis) -> dict:
    import base64
    import os
    from urllib.parse import quote, urlsplit

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench import fixtures
    from provider_app.app_settings import app_settings
    from provider_app.internal import local_cache, token_cache

    # The issuer's host, as bench/run.py serves it (PROVIDER_APP_ISSUER).
    client = Client(HTTP_HOST=host or urlsplit(os.environ["PROVIDER_APP_ISSUER"]).netloc)
    basic = base64.b64encode(f"{quote(client_id)}:{quote(client_secret)}".encode()).decode()

    def measured(call) -> dict:
        before = redis.count
        with CaptureQueriesContext(connection) as queries:
            response = call()
        if response.status_code != 200:
            raise RuntimeError(f"probe: {response.status_code} {response.content[:300]!r}")
        statements = sent_statements([q["sql"] for q in queries.captured_queries])
        return {"statements": statements, "redis": redis.count - before}

    def exchange(body: str):
        return client.post(
            "/o/token/",
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )

    bodies = fixtures.create_codes(client_id, exchanges)
    # Warm-up: the connection, the client's cache entry and local copy (the first exchange may run
    # before the subscription is confirmed), PostgreSQL's prepared statements (five runs).
    for body in bodies[:-1]:
        measured(lambda body=body: exchange(body))
    code = measured(lambda: exchange(bodies[-1]))
    prepared = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            prepared = cursor.fetchone()[0]

    token, _ = fixtures.issue_access_token(
        fixtures._application(client_id), fixtures._user(), "openid profile email", with_refresh=False
    )
    for _ in range(2):  # warm-up: the shared cache, then this process's copy
        measured(lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}"))
    me = measured(lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}"))
    shared = token_cache.token_cache()
    return {
        "token_cache": app_settings.TOKEN_CACHE if shared is not None else None,
        "local_cache": shared is not None and local_cache.current() is not None,
        "code": code,
        "me": me,
        "prepared_statements": prepared,
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["probe"]:
        sys.exit("usage: python -m bench.layers probe  (the client as JSON on stdin)")
    import django

    django.setup()
    client = json.load(sys.stdin)  # not in argv: the secret stays out of the process list
    json.dump(probe(client["client_id"], client["client_secret"]), sys.stdout)


if __name__ == "__main__":
    main()
