"""A total deadline for one HTTP exchange, status line and headers included.

client_app and resource_app have the same module: the three apps import nothing from one another
(each installs alone). provider_app uses it for the outbox's deliveries (internal/outbox.py).

A socket timeout bounds each receive, not the exchange: a peer that sends its status line and
headers one byte just within the timeout holds the caller for as long as it likes. Inside
``with Deadline(seconds)``, every connection of a session with :class:`DeadlineAdapter` mounted is
shut down when the deadline passes (a timer per exchange), which ends any receive at once; the
caller then sees ``requests.Timeout``. The body is read in pieces checked against the same deadline
(provider_app reads no body: a delivery is decided by its status line).
"""

from __future__ import annotations

import socket
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """``with Deadline(10):`` the exchanges of this thread end by then; ``expired`` says if one was cut."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._timers: list[threading.Timer] = []

    def __enter__(self) -> Deadline:
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        return self

    def __exit__(self, *exc_info) -> None:
        _current.deadline = self._outer
        for timer in self._timers:
            timer.cancel()

    def remaining(self) -> float:
        return max(self.at - time.monotonic(), 0.0)

    def guard(self, sock) -> None:
        timer = threading.Timer(self.remaining(), self._cut, args=(sock,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _cut(self, sock) -> None:
        self.expired = True
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass

    def timeout(self) -> requests.Timeout:
        return requests.Timeout("The answer did not arrive before the deadline.")


class _Guarded:
    """A connection that puts its socket under the thread's current deadline before it waits."""

    def getresponse(self, *args, **kwargs):
        deadline = getattr(_current, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.guard(self.sock)
        return super().getresponse(*args, **kwargs)


class _HTTPConnection(_Guarded, HTTPConnection):
    pass


class _HTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections obey :class:`Deadline` (direct and through a proxy)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = POOLS
        return manager


def mount(session: requests.Session) -> requests.Session:
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
