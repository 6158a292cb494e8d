"""Servers a test starts: processes of their own (a service project, a provider nobody here wrote),
ready when a URL answers and stopped when the test ends; and a peer that answers one byte at a time."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server_process(
    command: list[str], *, env: dict[str, str], ready_url: str, cwd: Path = ROOT, start_seconds: float = 30
) -> Iterator[Callable[[], str]]:
    """Run ``command`` until the block ends; it is ready once ``ready_url`` answers with any status.
    Yields a function returning the end of what it printed so far.

    A process that exits or never answers fails the test with what it printed."""
    output = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)

    def printed() -> str:
        output.seek(0)
        return output.read().decode(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + start_seconds
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{command[0]} exited ({process.returncode}):\n{printed()}")
            try:
                requests.get(ready_url, timeout=1)
                break
            except requests.RequestException:  # refused, or accepted but not answered yet
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{command[0]} did not answer at {ready_url}:\n{printed()}"
                    ) from None
                time.sleep(0.1)
        yield printed
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


@contextlib.contextmanager
def trickle_server(
    body: bytes, *, seconds_per_byte: float = 0.2, slow_headers: bool = False
) -> Iterator[str]:
    """A real HTTP server (a thread) that answers any request with the JSON ``body``, one byte every
    ``seconds_per_byte`` (with ``slow_headers``, the status line and headers too): each read is
    fast, the whole answer slow. Yields its base URL."""

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nX-Padding: {'x' * 40}\r\n\r\n"
            ).encode()
            try:
                if not slow_headers:
                    self.wfile.write(head)
                for byte in (head if slow_headers else b"") + body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(seconds_per_byte)
            except OSError:
                pass

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
