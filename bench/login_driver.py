"""Scenario (6): a full login as a browser does it, driven by Python threads with ``requests``.

The provider answers on ``localhost`` and client_app on ``127.0.0.1`` (same gunicorn, separate
cookies per host name, as in the demo), so the two keep separate browser sessions. One login:

1. client_app's login page, then the POST that starts the login (CSRF, C11);
2. the provider's authorization endpoint sends the browser to its login page; the password POST;
3. authorization with the consent remembered, redirect back with the code;
4. the callback: client_app exchanges the code server to server, validates the ID token, fetches
   UserInfo and signs the user in;
5. a page that needs the signed-in user (``/client/connections/``).

Each callback makes gunicorn call itself (token endpoint, UserInfo), so the driver runs at most
``workers - 1`` logins at once: a sync worker waiting on its own server needs another one free.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from pathlib import Path

from bench import results as R
from bench.fixtures import BENCH_PASSWORD, BENCH_USERNAME

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def unavailable_reason() -> str | None:
    """Why scenario (6) cannot run here, or ``None`` (checked without loading Django)."""
    if importlib.util.find_spec("requests") is None:
        return "the requests package is not installed"
    views = Path(__file__).resolve().parent.parent / "client_app" / "views.py"
    if not views.exists() or "class CallbackView" not in views.read_text():
        return "client_app's login views are not available"
    return None


def _csrf(html: str) -> str:
    match = CSRF_INPUT.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match[1]


def login_once(client_origin: str) -> None:
    """One complete login in a fresh browser session; raises if any step goes wrong."""
    import requests

    with requests.Session() as browser:
        page = browser.get(f"{client_origin}/client/", timeout=30)
        page.raise_for_status()
        started = browser.post(
            f"{client_origin}/client/bench/login/",
            data={"csrfmiddlewaretoken": _csrf(page.text)},
            headers={"Referer": page.url},
            timeout=30,
        )  # follows: authorize -> provider login page
        started.raise_for_status()
        if "/account/login/" not in started.url:
            raise RuntimeError(f"expected the provider's login page, got {started.url}")
        next_url = re.search(r'name="next" value="([^"]*)"', started.text)
        signed_in = browser.post(
            started.url,
            data={
                "csrfmiddlewaretoken": _csrf(started.text),
                "username": BENCH_USERNAME,
                "password": BENCH_PASSWORD,
                "next": next_url[1].replace("&amp;", "&") if next_url else "",
            },
            headers={"Referer": started.url},
            timeout=60,
        )  # follows: authorize (consent remembered) -> client callback -> landing page
        signed_in.raise_for_status()
        if not signed_in.url.startswith(client_origin):
            raise RuntimeError(f"login did not come back to the client: {signed_in.url}")
        connections = browser.get(f"{client_origin}/client/connections/", timeout=30)
        if connections.status_code != 200 or not connections.url.endswith("/client/connections/"):
            raise RuntimeError("not signed in at the client after the callback")


def run(harness) -> R.Measurement:
    client_origin = harness.base_url  # 127.0.0.1; the provider's issuer is on localhost
    login_once(client_origin)  # sanity check, and warms discovery and JWKS caches
    threads = max(1, harness.args.workers - 1)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + harness.args.duration

    def worker() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                login_once(client_origin)
            except Exception:
                with lock:
                    errors[0] += 1
                continue
            with lock:
                latencies.append(time.monotonic() - started)

    began = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    measurement = R.measurement_from_latencies(latencies, time.monotonic() - began, errors[0])
    measurement.notes.append(f"{threads} browser thread(s), full login per request")
    return measurement


def setup(harness) -> None:
    harness.fixtures(
        "ours",
        "login-client",
        "--client-origin",
        harness.base_url,
        "--issuer",
        f"http://localhost:{harness.port}/o",
    )
