"""Helpers for the security tests: real parallel HTTP requests against pytest-django's live_server."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from django.db import connection

from tests.processes import ROOT, free_port, server_process


def parallel(count: int, send: Callable[[requests.Session], requests.Response]) -> list[requests.Response]:
    """Run ``send`` in ``count`` threads released together by a barrier; each thread has its own session."""
    barrier = threading.Barrier(count)

    def run(_index: int) -> requests.Response:
        with requests.Session() as session:
            barrier.wait(timeout=30)
            return send(session)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@contextlib.contextmanager
def gunicorn_server(workers: int = 4, threads: int = 4):
    """The project under gunicorn (several worker processes) on the test database; yields its URL.

    The test must use committed data (``transactional_db``) and PostgreSQL, as in production.
    """
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable, "-m", "gunicorn", "oauthsite.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    ready_url = url + "/o/.well-known/openid-configuration"
    with server_process(command, env=env, ready_url=ready_url, start_seconds=60):
        yield url
