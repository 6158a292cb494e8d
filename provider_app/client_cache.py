"""Client lookups at the token, introspection and revocation endpoints, from the shared cache.

Every token request authenticates its client, which DOT loads from the database by ``client_id``.
:class:`CachedClientMixin` keeps the row in the same shared cache as the bearer tokens
(:func:`provider_app.token_cache.token_cache`), with the same rules (:mod:`provider_app.shared_cache`):
only a cache that every worker shares, entries written only under a permit taken before the database
read, deleted when the client is saved or deleted (a rotated secret or a disabled client takes effect
at once everywhere), and, if the cache cannot be written then, no cache used by any process until
the deletion has been applied (:mod:`provider_app.cache_outbox`).
A client whose secret is not hashed is never cached (P16), nor one resolved through a Client ID
Metadata Document (DOT re-fetches those when stale). With Redis, each process also keeps the clients
it loaded (:mod:`provider_app.token_local_cache`), dropped by the message every invalidation publishes.
"""

from __future__ import annotations

import logging

from django.contrib.auth.hashers import identify_hasher
from django.db import models, router
from django.db.models.signals import post_delete, post_save, pre_save
from oauth2_provider.models import get_application_model

from provider_app import cache_outbox, shared_cache, sql_rows, token_cache, token_local_cache

logger = logging.getLogger(__name__)

KEY_PREFIX = "provider_app:client:"


def _key(client_id: str) -> str:
    return KEY_PREFIX + token_cache.checksum(client_id)


class CachedClientMixin:
    """Validator mixin: ``_load_application`` served from the shared cache when possible."""

    def _load_application(self, client_id, request):
        cache = token_cache.readable_cache()
        if cache is None or not client_id or getattr(request, "client", None) is not None:
            return super()._load_application(client_id, request)
        application, permit = _cached(cache, client_id)
        if application is not None and application.is_usable(request):
            request.client = application
            return application
        application = super()._load_application(client_id, request)
        if application is not None:
            _remember(cache, application, permit)
        return application


def _cached(cache, client_id: str) -> tuple[models.Model | None, str | None]:
    """The cached client, or ``None`` and the permit to cache the row read next."""
    key = _key(client_id)
    local = token_local_cache.for_cache(cache)
    values, generation = local.lookup(key) if local else (None, None)
    if values is None:
        values, permit = token_cache.lookup(cache, key)
        if not isinstance(values, dict):
            return None, permit
        if local:
            local.store(key, values, generation)
    templates = values.get(token_cache.TEMPLATES)
    if templates is None:  # built once per entry, copied for each request
        Application = get_application_model()
        application = sql_rows.instance(Application, router.db_for_read(Application), values)
        templates = values[token_cache.TEMPLATES] = (application,)
    return token_cache.copy_instance(templates[0]), None


def _remember(cache, application: models.Model, permit: str | None) -> None:
    if permit is None or getattr(application, "cimd_url", None):
        return
    try:
        identify_hasher(application.client_secret)
    except ValueError:
        return  # never a plain-text secret in the cache
    values = {f.attname: getattr(application, f.attname) for f in application._meta.concrete_fields}
    try:
        shared_cache.store(cache).put(_key(application.client_id), permit, values, token_cache.entry_ttl())
    except Exception:
        logger.warning("client cache write failed", exc_info=True)


def invalidate_client(client_id: str) -> None:
    """Delete a client's entry (and every process's copy) now and when the transaction commits.

    A cache that cannot be written does not fail the change: see :mod:`provider_app.cache_outbox`.
    """
    cache = token_cache.token_cache()
    if cache is None or not client_id:
        return
    key = _key(client_id)
    cache_outbox.invalidate(cache, [key], key)


def _client_changed(sender, instance, created: bool = False, **kwargs) -> None:
    # A new client_id has no entry yet (a deleted namesake's went with it).
    if not created:
        invalidate_client(instance.client_id)


def _client_will_change(sender, instance, raw: bool = False, **kwargs) -> None:
    # A client_id edited in place: the old one must stop resolving too.
    if instance.pk is None or token_cache.token_cache() is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).values_list("client_id", flat=True).first()
    if old and old != instance.client_id:
        invalidate_client(old)


def connect() -> None:
    """Connect the invalidation receivers (called from ``ProviderAppConfig.ready()``)."""
    Application = get_application_model()
    pre_save.connect(_client_will_change, sender=Application, dispatch_uid="provider_app_cc_pre")
    post_save.connect(_client_changed, sender=Application, dispatch_uid="provider_app_cc_save")
    post_delete.connect(_client_changed, sender=Application, dispatch_uid="provider_app_cc_delete")
