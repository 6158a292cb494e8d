"""A shared cache of validated access tokens, so bearer validation skips the database.

What is cached, under the SHA-256 of the token (the same checksum DOT stores, never the token):
the token's immutable facts (pk, user, client, scope, expiry, resource indicators) and a snapshot
of its user without the password hash. What makes it safe (a revoked token is refused at once on
every worker, RFC 7009 2; the cache fails closed, P23):

- The cache must be Django's ``RedisCache``, shared by every process that serves requests. A
  process-local cache (``LocMemCache``) is used only if the project says it runs one process
  (``PROVIDER_APP_TOKEN_CACHE_ALLOW_LOCAL``). Other backends cannot enforce the rules below and are
  not used (``provider_app.W033``).
- Entries are written and read through :mod:`provider_app.internal.shared_cache`: a reader writes what it
  loaded only under the permit it took before the database read, and an entry is served only by the
  run of Redis it was written to (a restart from an old snapshot, a failover or a flush can bring
  back nothing).
- Every change to a token row goes through Django's signals here: deleting it (DOT revokes an access
  token by deleting it, also from ``RefreshToken.revoke()``, ``revoke_family()``, cascades from a
  deleted user or client) or saving it (a new value, scope or expiry) deletes the entry and its
  permit, at once and again when the transaction commits. Changing a user does the same for the
  user's live tokens (deactivation, new e-mail).
- If the cache cannot be written during an invalidation, the change still commits and the
  invalidation is recorded in the database (:mod:`provider_app.internal.cache_outbox`); no process serves
  from the caches until it has been applied. Reads that fail fall back to the database.
- Expiry and scope are checked on every request against the cached facts.
- With Redis, each invalidation is also published, so that every process drops the copy it may
  keep in front of this cache (:mod:`provider_app.internal.local_cache`, same rules).

Raw SQL and ``QuerySet.update()`` on the access token table bypass signals: call
:func:`invalidate_checksums` after such a change."""

from __future__ import annotations

import copy
import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, models, router, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from provider_app.app_settings import app_settings
from provider_app.internal import cache_outbox, compat, local_cache, shared_cache, storage
from provider_app.internal.storage import USER_FIELDS_NOT_CACHED
from provider_app.internal.tokens import digest

logger = logging.getLogger(__name__)

KEY_PREFIX = "provider_app:bearer:"


def entry_ttl() -> int:
    """Seconds a positive entry lives at most (``PROVIDER_APP_TOKEN_CACHE_TTL``, default 300)."""
    return app_settings.TOKEN_CACHE_TTL


def token_cache() -> BaseCache | None:
    """The shared cache named by ``PROVIDER_APP_TOKEN_CACHE`` (default ``"default"``), or ``None``.

    Left at its default, the cache is not used in front of SQLite: there the database is a file
    read inside the process, and a cache round trip would cost more than the query it replaces.
    The decision is made once per process (again after ``override_settings``). Without a cache the
    receivers that keep it true are disconnected (:func:`connect_receivers`): they would do nothing.
    """
    try:
        alias = process_state["alias"]
    except KeyError:
        alias = process_state["alias"] = _token_cache_alias()
        connect_receivers(connected=bool(alias))
    return caches[alias] if alias else None


def _token_cache_alias() -> str | None:
    alias = app_settings.TOKEN_CACHE
    if not alias:
        return None
    if (
        not app_settings.TOKEN_CACHE_IS_EXPLICIT
        and connections[router.db_for_read(get_access_token_model())].vendor == "sqlite"
    ):
        return None
    cache = caches[alias]
    if isinstance(cache, RedisCache):
        return alias
    if isinstance(cache, LocMemCache) and app_settings.TOKEN_CACHE_ALLOW_LOCAL:
        return alias
    return None  # a dummy, a process-local or a backend that cannot enforce shared_cache's rules


# What this process decided once: the token cache alias, the token and user models. Tests change
# settings; every setting_changed starts over. ``process_state.get("alias", "") is None`` reads
# "no token cache" without a call into this module (clients.load_application on every token request).
process_state: dict[str, Any] = {}


def _models() -> tuple[type[models.Model], type[models.Model]]:
    try:
        return process_state["models"]
    except KeyError:
        found = process_state["models"] = (get_access_token_model(), get_user_model())
        return found


def on_setting_changed(**kwargs) -> None:
    process_state.clear()
    cache_outbox.forget_state()
    # Connected until the next decision (a receiver without a cache does nothing): a cache may be
    # in use again, and the decision cannot be made now (Django may not have reset the caches yet).
    connect_receivers()


def connect_receivers(*, connected: bool = True) -> None:
    """Connect (or disconnect) the receivers that take changed tokens and users out of the caches
    (P23). Connected by ``AppConfig.ready()``; disconnected once :func:`token_cache` decides that
    no cache is used, so that writing a token does not enter this module (the code exchange)."""
    AccessToken, User = get_access_token_model(), get_user_model()
    for signal, receiver, sender, uid in (
        (pre_save, access_token_will_change, AccessToken, "provider_app_tc_pre"),
        (post_save, access_token_saved, AccessToken, "provider_app_tc_save"),
        (post_delete, access_token_deleted, AccessToken, "provider_app_tc_delete"),
        (post_save, user_changed, User, "provider_app_tc_user_save"),
    ):
        if connected:
            signal.connect(receiver, sender=sender, dispatch_uid=uid)
        else:
            signal.disconnect(sender=sender, dispatch_uid=uid)


def readable_cache() -> BaseCache | None:
    """The token cache, if entries may be served from it now (no invalidation is pending, P23)."""
    cache = token_cache()
    if cache is None or not cache_outbox.caches_usable(cache):
        return None
    return cache


def lookup(cache: BaseCache, name: str) -> tuple[Any, str | None]:
    """``(entry, None)`` or, on a miss, ``(None, permit)`` (see :mod:`provider_app.internal.shared_cache`).

    A cache that cannot be read gives ``(None, None)``: the database answers and nothing is cached.
    """
    try:
        return shared_cache.store(cache).lookup(name, shared_cache.PERMIT_SECONDS)
    except Exception:  # the database stays the source of truth when the cache is down
        logger.warning("shared cache read failed; using the database", exc_info=True)
        return None, None


#: The key of a token's entry is the token's digest, as stored by DOT (``token_checksum``).
checksum = digest


# ---------------------------------------------------------------------------------------------
# The contract of every cache: lookup, remember, invalidate
# ---------------------------------------------------------------------------------------------


@dataclass
class Lookup:
    """What :meth:`CachedRows.lookup` found: the entry, or on a miss what :meth:`CachedRows.remember`
    needs to cache the database's answer (the permit taken before the database read, and this
    process's copy with its generation at the miss)."""

    entry: dict | None
    permit: str | None = None
    local: Any = None
    generation: int | None = None


#: A lookup without any cache: the database answers, nothing is remembered.
MISS = Lookup(None)


class CachedRows:
    """One kind of rows cached in front of the database (bearer tokens, clients).

    The one contract of provider_app's caches: :meth:`lookup` (this process's copy, then the shared
    cache), :meth:`remember` (what the database answered after a miss, only under the permit that
    miss took) and :meth:`invalidate` (when a row changes: at once, and again when the change
    commits). A miss, a failing cache or a pending invalidation (P23) all end at the database.
    ``prefix`` names the shared cache's keys; ``local_prefix`` the keys of the local copies, which
    the invalidation messages name too.
    """

    def __init__(self, prefix: str, *, local_prefix: str) -> None:
        self.prefix, self.local_prefix = prefix, local_prefix

    def lookup(self, cache: BaseCache, name: str) -> Lookup:
        local = local_cache.for_cache(cache)
        entry, generation = local.lookup(self.local_prefix + name) if local else (None, None)
        if entry is not None:
            return Lookup(entry)
        entry, permit = lookup(cache, self.prefix + name)
        if not isinstance(entry, dict):
            return Lookup(None, permit, local, generation)
        if local:
            local.store(self.local_prefix + name, entry, generation)
        return Lookup(entry)

    def remember(
        self, cache: BaseCache, found: Lookup, name: str, entry: dict, ttl: int, *, locally: bool = True
    ) -> None:
        """Cache ``entry``, read from the database after the miss ``found``; nothing is written if the
        row was invalidated since (the permit or the local generation changed)."""
        if ttl > 0 and found.permit is not None:
            try:
                shared_cache.store(cache).put(self.prefix + name, found.permit, entry, ttl)
            except Exception:
                logger.warning("cache write failed (%s)", self.prefix, exc_info=True)
        if locally and found.local:
            found.local.store(self.local_prefix + name, entry, found.generation)

    def invalidate(self, names: list[str]) -> None:
        """Delete these entries (and every process's copy) now and again on commit. A cache that cannot
        be written does not fail the caller: see :mod:`provider_app.internal.cache_outbox`."""
        cache = token_cache()
        names = [name for name in names if name]
        if cache is None or not names:
            return
        message = " ".join(self.local_prefix + name for name in names)
        cache_outbox.invalidate(cache, [self.prefix + name for name in names], message)


#: Bearer tokens by checksum; a process's copy is keyed by the bare checksum.
BEARER_TOKENS = CachedRows(KEY_PREFIX, local_prefix="")


def remember(cache: BaseCache, found: Lookup, access_token: models.Model) -> None:
    """Cache a token loaded from the database after the miss ``found``, never past its expiry."""
    ttl = min(entry_ttl(), int((access_token.expires - timezone.now()).total_seconds()))
    BEARER_TOKENS.remember(cache, found, access_token.token_checksum, snapshot(access_token), ttl)


def snapshot(access_token: models.Model) -> dict:
    entry = {
        "pk": access_token.pk,
        "token_checksum": access_token.token_checksum,
        "application_id": access_token.application_id,
        "user_id": access_token.user_id,
        "scope": access_token.scope,
        "expires": access_token.expires,
        "resource": access_token.resource or [],
        "user": None,
    }
    user = access_token.user if access_token.user_id else None
    if user is not None:
        entry["user"] = {
            f.attname: getattr(user, f.attname)
            for f in user._meta.concrete_fields
            if f.attname not in USER_FIELDS_NOT_CACHED
        }
    return entry


def access_token_from_entry(entry: dict) -> models.Model:
    """An AccessToken instance (and its user) rebuilt from cached facts, new for every call.

    Fields that are not cached are deferred: reading one loads it from the database, and saving the
    instance writes only the loaded fields. The instances built the first time are kept in the entry
    (:data:`TEMPLATES`, never in the shared cache) and copied on later calls, which is cheaper than
    building them again; each call gets its own copies, lists and dicts included.
    """
    templates = entry.get(TEMPLATES)
    if templates is None:
        AccessToken, User = _models()
        values = {k: entry[k] for k in ("token_checksum", "application_id", "user_id", "scope", "expires")}
        values["id"] = entry["pk"]
        values["resource"] = entry["resource"]
        user = _from_db(User, entry["user"]) if entry["user"] is not None else None
        templates = entry[TEMPLATES] = (_from_db(AccessToken, values), user)
    access_token = copy_instance(templates[0])
    if templates[1] is not None:
        access_token.user = copy_instance(templates[1])
    return access_token


#: Key of an entry held in a process (token_local_cache) under which the built instances are kept.
TEMPLATES = "_instances"


def _from_db(model: type[models.Model], values: dict) -> models.Model:
    return storage.instance(model, router.db_for_read(model), values)


def copy_instance(instance: models.Model) -> models.Model:
    """A copy of a loaded instance with its own state and its own lists and dicts (JSON fields)."""
    copied = instance.__class__.__new__(instance.__class__)
    copied.__dict__.update(instance.__dict__)
    copied._state = compat.fresh_model_state(instance._state.db)
    names, mutable = storage.attnames(instance.__class__), _mutable_positions(instance.__class__)
    for index in mutable:
        value = copied.__dict__.get(names[index])
        if isinstance(value, list | dict):
            copied.__dict__[names[index]] = copy.deepcopy(value)
    return copied


@functools.cache
def _mutable_positions(model: type[models.Model]) -> list[int]:
    """Positions (in concrete-field order) of the fields whose values can be mutable (JSON)."""
    return [
        i for i, f in enumerate(model._meta.concrete_fields) if not isinstance(f, _IMMUTABLE_VALUE_FIELDS)
    ]


# Fields whose Python values are immutable (str, int, bool, datetime, UUID, Decimal, None).
_IMMUTABLE_VALUE_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.DateTimeField,
    models.DateField,
    models.UUIDField,
    models.DecimalField,
    models.FloatField,
    models.ForeignKey,
    models.AutoField,
    models.BigAutoField,
)


def is_expired(entry: dict, now: datetime | None = None) -> bool:
    return (now or timezone.now()) >= entry["expires"]


# ---------------------------------------------------------------------------------------------
# Invalidation
# ---------------------------------------------------------------------------------------------


def invalidate_checksums(checksums: list[str]) -> None:
    """Delete these tokens' entries (and every process's copy) now and again on commit (after raw SQL
    or ``QuerySet.update()`` on the access token table, which send no signal)."""
    BEARER_TOKENS.invalidate(checksums)


#: Where pre_save keeps a token's previous checksum for post_save (a value replaced in place).
_OLD_CHECKSUM = "_provider_app_old_checksum"


def access_token_saved(sender, instance, created: bool = False, raw: bool = False, **kwargs) -> None:
    if not created:
        old = instance.__dict__.pop(_OLD_CHECKSUM, None)
        invalidate_checksums([instance.token_checksum, *([old] if old else [])])


def access_token_will_change(sender, instance, raw: bool = False, **kwargs) -> None:
    # A new value replaces the old one in place (DOT without refresh-token rotation): the old
    # checksum must stop working too. It is invalidated after the write (post_save), so that a
    # reader between this signal and the UPDATE cannot cache the old value again.
    if instance.pk is None or token_cache() is None:
        return
    # The instance's checksum is recomputed only later, in the field's pre_save: ask the database.
    old = sender._default_manager.filter(pk=instance.pk).values_list("token_checksum", flat=True).first()
    if old:
        instance.__dict__[_OLD_CHECKSUM] = old


def access_token_deleted(sender, instance, **kwargs) -> None:
    # An expired token is refused from its cached expiry already; skipping it keeps bulk
    # cleanups (clear_expired_tokens) from invalidating every deleted row.
    if instance.expires is not None and instance.expires <= timezone.now():
        return
    invalidate_checksums([instance.token_checksum])


def _live_checksums(user_id) -> list[str]:
    AccessToken = get_access_token_model()
    live = AccessToken._default_manager.filter(user_id=user_id, expires__gt=timezone.now())
    return list(live.values_list("token_checksum", flat=True))


def user_changed(sender, instance, update_fields=None, **kwargs) -> None:
    if token_cache() is None or instance.pk is None:
        return
    if update_fields is not None and set(update_fields) <= USER_FIELDS_NOT_CACHED:
        return
    invalidate_checksums(_live_checksums(instance.pk))
    # A token issued by another request before this change commits is not in that list, and may be
    # cached with the user as it was: once committed, the user's tokens are listed again.
    user_id = instance.pk
    transaction.on_commit(
        lambda: invalidate_checksums(_live_checksums(user_id)),
        using=router.db_for_write(get_access_token_model()),
        robust=True,
    )


def flush_all() -> None:
    """Make every process drop its local copies (e.g. after restoring a backup). Raises on failure."""
    cache = token_cache()
    if cache is not None:
        local_cache.publish(cache, local_cache.FLUSH)
