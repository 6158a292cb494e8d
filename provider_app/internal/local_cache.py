"""A process-local copy of the shared token cache, kept honest by Redis pub/sub.

Bearer validation looks a token up here first, then in the shared cache (:mod:`.token_cache`),
then in the database. Used only when the shared token cache is Django's ``RedisCache`` and
``PROVIDER_APP_TOKEN_LOCAL_CACHE`` is on. Entries are the shared cache's (``token_cache.snapshot``)
and live at most ``PROVIDER_APP_TOKEN_LOCAL_CACHE_TTL`` seconds, never past the token's expiry.

Why a revoked token is never served from a local copy once its revocation has been answered:

- Every invalidation (``token_cache.invalidate_checksums``) deletes the shared entries and then
  PUBLISHes the checksums on this deployment's channel, immediately and again after the commit,
  before the revoking request is answered; if the publish fails, no process serves from any cache
  until it has been sent (:mod:`provider_app.internal.cache_outbox`).
- Each process holds one subscription and reads every pending message, without blocking, before
  each lookup and each store. :func:`publish` returns only once Redis has written the message to
  every subscriber's connection (a PING after the PUBLISH), which keeps order; on the same host the
  message is then already in each worker's receive buffer. A message drops the named entries
  (``*``: all); a client's key (:mod:`provider_app.internal.clients`) works the same way.
- A lookup that misses records the *generation* (bumped by every message and every reset); the entry
  it then loads is stored only if no message came in meanwhile. A load that read the token before
  its revocation committed is therefore either refused here, or stored before the on-commit message
  arrives, which then drops it. A load after the commit finds no row.
- Local entries are used only while the subscription is confirmed and a PONG answered a PING sent
  less than ``PROVIDER_APP_TOKEN_LOCAL_CACHE_LIVENESS`` seconds ago (a PING goes out every quarter
  of that). Any error on the subscription, or a reconnection behind our back (messages may have been
  lost meanwhile), drops everything and resubscribes at most once a second; meanwhile requests use
  the shared cache, as without this layer.

The bound: across hosts, the message must reach the worker before the next request does. That takes
far less than the revocation's answer and the client's next request; if it is held up, or the
subscription dies silently (a half-open connection), the PONGs queued behind it are missing too, and
local entries stop being used within the liveness window. After restoring a database backup, clear
the cache, then call :func:`flush_all`."""

from __future__ import annotations

import logging
import os
import select
import threading
import time

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from provider_app.app_settings import app_settings
from provider_app.internal import compat

logger = logging.getLogger(__name__)

CHANNEL = "provider_app:bearer:revoked"
FLUSH = "*"
RESUBSCRIBE_INTERVAL = 1.0
# Seconds to wait for the rest of a message whose first bytes already arrived (a large batch).
READ_TIMEOUT = 0.1


def channel(cache: BaseCache) -> str:
    """The invalidation channel, named like a cache key (``KEY_PREFIX``/``VERSION`` separate deployments)."""
    return cache.make_key(CHANNEL)


def publish(cache: BaseCache, message: str) -> None:
    """Tell every process to drop these space-separated keys (``*``: all). Raises on failure.

    Returns once Redis has written the message to every subscriber's connection: Redis answers the
    PUBLISH while it may still be writing the message to subscribers, but it reads the PING sent
    after that answer only in a later turn of its event loop, after every pending write is done.
    """
    if isinstance(cache, RedisCache):
        client = compat.redis_client(cache)
        client.publish(channel(cache), message)
        client.ping()


class LocalTokenCache:
    """The local entries of one process and its subscription to the invalidation channel.

    Tests may make several, each with its own subscription, to play several processes.
    """

    def __init__(self, cache: RedisCache, *, size: int, ttl: float, liveness: float) -> None:
        self.cache, self.channel, self.pid = cache, channel(cache), os.getpid()
        self.size, self.ttl, self.liveness = size, ttl, liveness
        self.generation = 0
        self._entries: dict[str, tuple[dict, float]] = {}
        self._lock = threading.Lock()
        self._pubsub = self._poller = None
        self._confirmed = self._reconnected = False
        self._pong_for = self._pinged_at = self._subscribe_at = float("-inf")

    def lookup(self, token_checksum: str) -> tuple[dict | None, int | None]:
        """The entry, or ``None`` and the generation to pass to :meth:`store` (``None``: do not store)."""
        with self._lock:
            now = time.monotonic()
            if not self._poll(now):
                return None, None
            cached = self._entries.get(token_checksum)
            if cached is not None and cached[1] > now:
                return cached[0], self.generation
            return None, self.generation

    def store(self, token_checksum: str, entry: dict, generation: int | None) -> None:
        """Keep an entry loaded after a miss, unless an invalidation came in since that miss.

        The key is a token checksum, or another key its invalidations publish (a client's, see
        :mod:`provider_app.internal.clients`); an entry with ``expires`` never outlives it.
        """
        with self._lock:
            now = time.monotonic()
            lifetime = self.ttl
            if entry.get("expires") is not None:
                lifetime = min(lifetime, (entry["expires"] - timezone.now()).total_seconds())
            if not self._poll(now) or generation != self.generation or lifetime <= 0:
                return
            self._entries.pop(token_checksum, None)
            self._entries[token_checksum] = (entry, now + lifetime)
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]  # the oldest

    def drop_all(self) -> None:
        """Drop every local entry; a store begun earlier is refused."""
        with self._lock:
            self._forget()

    def close(self) -> None:
        with self._lock:
            self._unsubscribe()
            self._subscribe_at = float("inf")  # for good

    def _poll(self, now: float) -> bool:
        """Read pending messages, PING when due; True if local entries may be used."""
        if self._pubsub is None and now - self._subscribe_at >= RESUBSCRIBE_INTERVAL:
            self._subscribe(now)
        if self._pubsub is not None:
            try:
                self._drain()
                if not self._reconnected and now - self._pinged_at >= self.liveness / 4:
                    self._pinged_at = now
                    self._pubsub.ping(repr(now))  # its PONG is read by a later drain
                if self._reconnected:
                    raise ConnectionError("the subscription reconnected: messages may have been lost")
            except Exception:
                logger.warning("token invalidation channel failed; using the shared cache", exc_info=True)
                self._unsubscribe()
        if self._confirmed and now - self._pong_for < self.liveness:
            return True
        self._forget()
        return False

    def _drain(self) -> None:
        # poll() costs a tenth of redis-py's can_read(), and a drain leaves the parser's buffer empty.
        if not self._poller.poll(0):
            return
        # get_message(timeout=0) would fail on a message whose end is still in flight, and redis-py
        # would then reconnect: wait a little for the rest of a message that has begun.
        connection = self._pubsub.connection
        while not self._reconnected and connection.can_read(timeout=0):
            message = self._pubsub.get_message(timeout=READ_TIMEOUT)
            if message is None:
                continue
            data = message["data"]
            data = data.decode() if isinstance(data, bytes) else str(data)
            if message["type"] == "message":
                self._forget(data.split())
            elif message["type"] == "pong":
                self._pong_for = max(self._pong_for, float(data or "-inf"))
            elif message["type"] == "subscribe":
                self._confirmed = True

    def _forget(self, checksums: list[str] | None = None) -> None:
        """Drop these entries (all without a list, or for ``*``); a store begun earlier is refused."""
        self.generation += 1
        if checksums is None or FLUSH in checksums:
            self._entries.clear()
        for token_checksum in checksums or ():
            self._entries.pop(token_checksum, None)

    def _subscribe(self, now: float) -> None:
        self._subscribe_at = now
        pubsub = None
        try:
            pubsub = compat.redis_client(self.cache).pubsub()
            pubsub.subscribe(self.channel)
            # redis-py may reconnect (and resubscribe) inside a read; messages sent in between
            # would be lost, so a reconnection counts as a failure here.
            pubsub.connection.register_connect_callback(self._on_reconnect)
            self._poller = select.poll()  # not on Windows: the layer then stays off (logged)
            self._poller.register(compat.pubsub_fileno(pubsub), select.POLLIN)
            self._pubsub, self._reconnected, self._pinged_at = pubsub, False, now
            pubsub.ping(repr(now))
        except Exception:
            logger.warning("cannot subscribe to %s; using the shared cache", self.channel, exc_info=True)
            self._pubsub = pubsub
            self._unsubscribe()

    def _on_reconnect(self, connection) -> None:
        self._reconnected = True

    def _unsubscribe(self) -> None:
        pubsub, self._pubsub, self._poller = self._pubsub, None, None
        self._confirmed = False
        self._pong_for = float("-inf")
        self._forget()
        if pubsub is None:
            return
        try:
            if pubsub.connection is not None:
                pubsub.connection.deregister_connect_callback(self._on_reconnect)
            pubsub.close()
        except Exception:
            logger.debug("closing the token invalidation subscription failed", exc_info=True)


# (pid, what the shared cache points to) and this process's layer, None where it is turned off.
_process_layer: tuple[tuple, LocalTokenCache | None] | None = None
_process_lock = threading.RLock()


def for_cache(cache: BaseCache | None) -> LocalTokenCache | None:
    """This process's local layer in front of the shared ``cache``, or ``None`` if it does not apply.

    The settings are read when the layer is made (the first request of a process).
    """
    global _process_layer
    if not isinstance(cache, RedisCache):
        return None
    # Django hands each thread its own cache object: identify the cache by what it points to.
    identity = (os.getpid(), compat.redis_servers(cache), cache.key_prefix, cache.version)
    current = _process_layer
    if current is not None and current[0] == identity:
        return current[1]
    with _process_lock:
        if _process_layer is None or _process_layer[0] != identity:
            close()
            layer = None
            if app_settings.TOKEN_LOCAL_CACHE:
                layer = LocalTokenCache(
                    cache,
                    size=app_settings.TOKEN_LOCAL_CACHE_SIZE,
                    ttl=app_settings.TOKEN_LOCAL_CACHE_TTL,
                    liveness=app_settings.TOKEN_LOCAL_CACHE_LIVENESS,
                )
            _process_layer = (identity, layer)
        return _process_layer[1]


def current() -> LocalTokenCache | None:
    """This process's layer if one was made, without making one."""
    found = _process_layer
    return found[1] if found is not None and found[0][0] == os.getpid() else None


def close() -> None:
    """Close and forget this process's layer; the next lookup makes a new one with the settings then."""
    global _process_layer
    with _process_lock:
        layer = _process_layer[1] if _process_layer else None
        if layer is not None and layer.pid == os.getpid():  # after a fork, it is the parent's
            layer.close()
        _process_layer = None


def on_setting_changed(setting: str, **kwargs) -> None:
    if setting.startswith("PROVIDER_APP_TOKEN_LOCAL_CACHE"):  # override_settings in tests
        close()
