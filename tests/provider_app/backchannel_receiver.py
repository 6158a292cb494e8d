"""A relying party's back-channel logout endpoint for the tests: a local HTTP server in a thread
that records every POST and answers as the test says (up, slow, 500); "down" is a closed port."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Receiver:
    """``mode``: ``"ok"`` (200), ``"error"`` (500), ``"slow"`` (answers after ``delay`` seconds),
    ``"endless"`` (200 announcing a gigabyte of body, of which it sends a few bytes, then stalls)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 2.0
        self.received: list[dict] = []  # {"content_type", "form", "body"} per POST, in order
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.received.append(
                    {"content_type": self.headers.get("Content-Type"), "form": parse_qs(body), "body": body}
                )
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                status = 500 if receiver.mode == "error" else 200
                if receiver.mode == "endless":
                    self.send_response(200)
                    self.send_header("Content-Length", str(10**9))
                    self.end_headers()
                    self.wfile.write(b"{" * 100)
                    self.wfile.flush()
                    time.sleep(receiver.delay)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def tokens(self) -> list[str]:
        return [entry["form"]["logout_token"][0] for entry in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
