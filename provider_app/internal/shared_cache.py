"""How provider_app keeps entries in the shared cache so that they fail closed (P23).

The token and client caches (:mod:`provider_app.internal.token_cache`, :mod:`provider_app.internal.clients`)
store through a :class:`Store`, never with ``cache.set()``. The database is the truth; an entry is
served only if nothing that happened to the cache since it was written can have hidden a change:

- **An entry is written only under a permit.** A reader that misses takes the key's *permit* (a
  random value kept beside the entry) before it reads the database, and writes what it read only if
  the permit is still the same, atomically (a Lua script). Every invalidation deletes the entry and
  its permit. A reader that loaded a row before a revocation therefore cannot put it back after the
  revocation's invalidation, nor after a ``FLUSHALL`` (which deletes the permit too).
- **An entry is served only by the Redis run that it was written to.** Entries and permits carry
  the server's ``run_id``, which Redis draws anew at every start and which a replica does not share
  with its master, and its replication ID, drawn anew whenever it becomes a master. After a restart
  from an RDB/AOF snapshot older than a revocation, or a failover (also back to a former master),
  every entry written before is refused (read as a miss) and the database decides again.
- **A failed invalidation never fails the change** (a revocation, a logout, a refresh, a saved user
  or client): the database commits, the keys are recorded in the database
  (:mod:`provider_app.internal.cache_outbox`), and until they have been deleted from Redis no process serves
  anything from the caches. Each process looks at that record at most
  ``PROVIDER_APP_TOKEN_CACHE_RECHECK`` seconds before it serves from a cache, and the request that
  could not invalidate waits that long before it answers: once the change is answered, no process
  serves the old entry, whatever happened to Redis in between.

:class:`LocalStore` is the same protocol for a process-local cache (one process, tests), under a lock.
Other cache backends are not used for tokens (see :func:`provider_app.internal.token_cache.token_cache`)."""

from __future__ import annotations

import pickle
import secrets
import threading
from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache

from provider_app.internal import compat, local_cache

PERMIT_SUFFIX = ":permit"
# A permit only has to outlive one database read; short, so that misses (random bearer strings
# included) do not fill Redis with permits. A write after it expired is simply not made.
PERMIT_SECONDS = 30

# Which run of which Redis holds the data: its run_id (drawn at each start; a replica has its own)
# and its replication ID (drawn anew whenever it becomes a master, so a master demoted and promoted
# again, which keeps its run_id, gets another one).
_RUN_ID = (
    "local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') .. '.' .."
    " string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')\n"
)

# KEYS[1] entry, KEYS[2] its permit; ARGV[1] a fresh random value, ARGV[2] the permit's seconds.
# An entry is stored as "<run_id>\n<pickle>" and served only by the same run of Redis: {1, pickle}.
# Otherwise the permit to write the entry later, {0, permit}; a permit of an earlier run is replaced.
_LOOKUP = (
    _RUN_ID + "local value = redis.call('GET', KEYS[1])\n"
    "if value and string.sub(value, 1, #run_id + 1) == run_id .. '\\n' then\n"
    "  return {1, string.sub(value, #run_id + 2)}\n"
    "end\n"
    "local permit = redis.call('GET', KEYS[2])\n"
    "if not (permit and string.sub(permit, 1, #run_id + 1) == run_id .. ':') then\n"
    "  permit = run_id .. ':' .. ARGV[1]\n"
    "  redis.call('SET', KEYS[2], permit, 'EX', ARGV[2])\n"
    "end\n"
    "return {0, permit}\n"
)
# KEYS[1] entry, KEYS[2] permit; ARGV[1] the permit taken before the database read, ARGV[2] value,
# ARGV[3] seconds. Written only if the permit is unchanged and was issued by this run of Redis.
_PUT = (
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end\n"
    + _RUN_ID
    + "if string.sub(ARGV[1], 1, #run_id + 1) ~= run_id .. ':' then return 0 end\n"
    "redis.call('SET', KEYS[1], run_id .. '\\n' .. ARGV[2], 'EX', ARGV[3])\n"
    "return 1\n"
)


class Store:
    """Fail-closed entries in a shared cache (see the module's docstring). Keys are unversioned names."""

    def lookup(self, name: str, timeout: int) -> tuple[Any, str | None]:
        """``(entry, None)``, or on a miss ``(None, permit)``: the permit to :meth:`put` what the
        database says, taken before reading it and valid ``timeout`` seconds. Raises on failure."""
        raise NotImplementedError

    def put(self, name: str, permit: str | None, value: Any, timeout: int) -> bool:
        """Write ``value`` if ``permit`` is still the key's permit. Raises on failure."""
        raise NotImplementedError

    def invalidate(self, names: list[str], message: str) -> None:
        """Delete entries and permits, then tell every process (``message``). Raises on failure."""
        raise NotImplementedError


class RedisStore(Store):
    """The protocol on Django's ``RedisCache``, through one redis-py client per process and cache."""

    def __init__(self, cache: RedisCache) -> None:
        self.cache = cache
        # Django's backend builds a new client object for every operation; keep one (same pool).
        self.client = compat.redis_client(cache)
        self._lookup = self.client.register_script(_LOOKUP)
        self._put = self.client.register_script(_PUT)

    def _key(self, name: str) -> str:
        return self.cache.make_and_validate_key(name)

    def lookup(self, name: str, timeout: int) -> tuple[Any, str | None]:
        keys = [self._key(name), self._key(name + PERMIT_SUFFIX)]
        found, value = self._lookup(keys=keys, args=[secrets.token_hex(16), timeout])
        if found:
            # Trusted like Django's own RedisCache, which pickles every value it stores.
            return pickle.loads(value), None  # noqa: S301
        return None, value.decode() if isinstance(value, bytes) else value

    def put(self, name: str, permit: str | None, value: Any, timeout: int) -> bool:
        if permit is None:
            return False
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        keys = [self._key(name), self._key(name + PERMIT_SUFFIX)]
        return bool(self._put(keys=keys, args=[permit, data, timeout]))

    def invalidate(self, names: list[str], message: str) -> None:
        keys = [self._key(n) for n in names] + [self._key(n + PERMIT_SUFFIX) for n in names]
        self.client.delete(*keys)
        # Every process's local copies (token_local_cache) go too.
        local_cache.publish(self.cache, message)


class LocalStore(Store):
    """The protocol on a process-local cache (``PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL``), under a lock."""

    _lock = threading.Lock()

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    def lookup(self, name: str, timeout: int) -> tuple[Any, str | None]:
        with self._lock:
            value = self.cache.get(name)
            if value is not None:
                return value, None
            self.cache.add(name + PERMIT_SUFFIX, secrets.token_hex(16), timeout=timeout)
            return None, self.cache.get(name + PERMIT_SUFFIX)

    def put(self, name: str, permit: str | None, value: Any, timeout: int) -> bool:
        with self._lock:
            if permit is None or self.cache.get(name + PERMIT_SUFFIX) != permit:
                return False
            self.cache.set(name, value, timeout=timeout)
            return True

    def invalidate(self, names: list[str], message: str) -> None:
        with self._lock:
            self.cache.delete_many(names + [n + PERMIT_SUFFIX for n in names])


_stores: dict[int, tuple[BaseCache, Store]] = {}


def store(cache: BaseCache) -> Store:
    """The store for a cache object (one per cache object: Django gives each thread its own)."""
    found = _stores.get(id(cache))
    if found is None or found[0] is not cache:
        made = RedisStore(cache) if isinstance(cache, RedisCache) else LocalStore(cache)
        found = _stores[id(cache)] = (cache, made)
    return found[1]
