"""A redis-server of the test's own, on a free port, that a test can crash, restart, pause or flush.

Used by the P23 tests: what happens to the shared cache when Redis restarts from an old snapshot,
fails over to a replica, is flushed or stops answering. Needs the ``redis-server`` binary (the
machine runs Redis; the tests fail, never skip, without it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One redis-server process; its snapshot file (``dump.rdb``) lives in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, _free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cache_settings(self, **options) -> dict:
        """A Django ``CACHES`` entry for this server, with short socket timeouts."""
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": self.url,
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, **options},
        }

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "the P23 tests need the redis-server binary (the machine's Redis)"
        command = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--protected-mode", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def snapshot(self) -> None:
        """Write ``dump.rdb`` now (what Redis's default ``save`` rules do every few minutes)."""
        self.client().save()

    def crash(self) -> None:
        """Kill the server without a final save: what it held since the last snapshot is lost."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Crash, then start again from the last snapshot, on the same port."""
        self.crash()
        self.start()

    def pause(self) -> None:
        """Stop answering (connections stay open, commands time out) until :meth:`resume`."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def run_id(self) -> str:
        return self.client().info("server")["run_id"]
