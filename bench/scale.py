"""The scale part of the benchmark (PostgreSQL): a million expired tokens, then the cleanup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.fixtures import BENCH_USERNAME

TABLES = ("oauth2_provider_accesstoken", "oauth2_provider_refreshtoken")


def insert_expired_tokens(database, count: int) -> float:
    """``count`` access tokens that expired 40 days ago, each with its refresh token, in two
    set-based INSERTs (generate_series). Returns the seconds it took."""
    started = time.monotonic()
    with database.connect() as conn:
        user_id = conn.execute("SELECT id FROM auth_user WHERE username = %s", [BENCH_USERNAME]).fetchone()[0]
        app_id = conn.execute(
            "SELECT id FROM oauth2_provider_application WHERE client_id = 'ours-code'"
        ).fetchone()[0]
        conn.execute(
            """
            INSERT INTO oauth2_provider_accesstoken
                (user_id, token, token_checksum, application_id, expires, scope, resource, created, updated)
            SELECT %(user)s, '', md5(i::text || 'scale-a') || md5(i::text || 'scale-b'), %(app)s,
                   now() - interval '40 days', 'openid profile email', '[]'::jsonb,
                   now() - interval '41 days', now() - interval '41 days'
            FROM generate_series(1, %(count)s) AS i
            """,
            {"user": user_id, "app": app_id, "count": count},
        )
        conn.execute(
            """
            INSERT INTO oauth2_provider_refreshtoken
                (user_id, token, token_checksum, application_id, access_token_id, token_family,
                 resource, created, updated, revoked)
            SELECT user_id, '', md5(id::text || 'scale-r') || md5(id::text || 'scale-s'), application_id,
                   id, gen_random_uuid(), '[]'::jsonb, created, created, NULL
            FROM oauth2_provider_accesstoken
            WHERE token = '' AND expires < now() - interval '39 days'
            """
        )
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.monotonic() - started


def table_rows(database) -> str:
    with database.connect() as conn:
        counts = [
            f"{table.split('_')[-1]} {conn.execute(f'SELECT count(*) FROM {table}').fetchone()[0]:,}"
            for table in TABLES
        ]
    return ", ".join(counts)


def run_cleanup(harness, database) -> dict:
    """``manage.py clear_expired_tokens`` on ``database``, in its own process: wall time and peak
    resident memory."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "clear_expired_tokens", "--verbosity", "2"],
        cwd=Path(__file__).resolve().parent.parent,
        env=harness.env("bench.settings_ours", database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    stdout, stderr = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"clear_expired_tokens failed:\n{stdout}\n{stderr}")
    return {
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
        "summary": stdout.strip().splitlines()[-1],
        "log": stdout.strip().splitlines()[:-1],
    }
