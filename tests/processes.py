"""Servers a test starts as processes of their own (a service project, a provider nobody here
wrote): a free port, then the process, ready when a URL answers, stopped when the test ends."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server_process(
    command: list[str], *, env: dict[str, str], ready_url: str, cwd: Path = ROOT
) -> Iterator[None]:
    """Run ``command`` until the block ends; it is ready once ``ready_url`` answers with any status.

    A process that exits or never answers fails the test with what it printed."""
    output = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)

    def printed() -> str:
        output.seek(0)
        return output.read().decode(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{command[0]} exited ({process.returncode}):\n{printed()}")
            try:
                requests.get(ready_url, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{command[0]} did not answer at {ready_url}:\n{printed()}"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()
