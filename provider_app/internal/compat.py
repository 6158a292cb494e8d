"""Every private API of Django, redis-py and django-oauth-toolkit that provider_app relies on.

Each shim below names the private shape it needs and checks it when this module is imported (at
``django.setup()``, through ``ProviderAppConfig.ready()``): a release of Django, redis-py or DOT that
changes the shape fails loudly at start-up with :class:`IncompatibleDependency`, never silently at
the first request. tests/provider_app/test_compat.py exercises each shim.

Also here: :func:`deprecated_module` and :func:`moved`, the re-exports that keep moved public paths
importable for one release.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import django
import oauth2_provider
from django.db.models.base import ModelState
from django.dispatch import Signal, dispatcher
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import DEFAULTS, oauth2_settings


class IncompatibleDependency(ImportError):
    """A dependency no longer has the private shape a shim of this module needs."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise IncompatibleDependency(
            f"provider_app needs {what} (Django {django.__version__}, django-oauth-toolkit "
            f"{oauth2_provider.__version__}); see provider_app/internal/compat.py."
        )


# -- Django: signal receivers ------------------------------------------------------------------------
# storage.RowBatch writes a row in one SQL statement only if no foreign receiver listens to its save
# signals. Signal.receivers entries start with (receiver key, sender id) in Django 5.2 and 6.x.

_require(callable(getattr(dispatcher, "_make_id", None)), "django.dispatch.dispatcher._make_id")
_require(hasattr(dispatcher, "NONE_ID"), "django.dispatch.dispatcher.NONE_ID")
_require(isinstance(getattr(Signal(), "receivers", None), list), "Signal.receivers as a list")


def receiver_keys(signal: Signal, sender: Any) -> list[Any]:
    """The receiver keys (``dispatch_uid`` or receiver id) of ``signal`` for ``sender``, those
    connected for every sender included."""
    sender_id = dispatcher._make_id(sender)
    keys = []
    for entry in signal.receivers:
        receiver_key, receiver_sender = entry[0]
        if receiver_sender in (sender_id, dispatcher.NONE_ID):
            keys.append(receiver_key)
    return keys


# -- Django: database connections --------------------------------------------------------------------


def transaction_is_untouched(connection) -> bool:
    """The connection's open transaction has sent no statement and has nothing to run on commit.

    ``run_on_commit`` is Django's list of pending on-commit hooks; ``connection.connection.info``
    is the driver's libpq view (psycopg 3 and psycopg2 >= 2.8): 0 is PQTRANS_IDLE.
    """
    _require(hasattr(connection, "run_on_commit"), "BaseDatabaseWrapper.run_on_commit")
    info = getattr(connection.connection, "info", None)
    _require(info is not None and hasattr(info, "transaction_status"), "the driver's connection.info")
    return not connection.run_on_commit and info.transaction_status == 0


def fresh_model_state(db: str | None) -> ModelState:
    """A ``Model._state`` for an instance copied by hand: saved (not adding), on ``db``."""
    state = ModelState()
    state.adding, state.db = False, db
    return state


def add_field_validator(field, validator: Callable) -> None:
    """Append ``validator`` to a model field without changing its ``deconstruct()`` (no migration).

    ``Field.validators`` is a cached_property: filling its cache, not ``_validators``, keeps the
    field's migration state unchanged, so no migration is ever generated for DOT's model.
    """
    _require("validators" in type(field).__dict__ or hasattr(type(field), "validators"), "Field.validators")
    if validator not in field.validators:
        field.__dict__["validators"] = [*field.validators, validator]


def registered_admin(site, model):
    """The ModelAdmin a site registered for ``model`` (``AdminSite._registry``)."""
    _require(isinstance(getattr(site, "_registry", None), dict), "AdminSite._registry")
    return site._registry[model]


# -- Django's RedisCache and redis-py ----------------------------------------------------------------


def redis_client(cache):
    """The redis-py client behind Django's ``RedisCache`` (Django builds one per operation otherwise)."""
    _require(hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"), "RedisCache._cache.get_client")
    return cache._cache.get_client(None, write=True)


def redis_servers(cache) -> tuple[str, ...]:
    """The server URLs a ``RedisCache`` points to (``RedisCache._servers``)."""
    _require(hasattr(cache, "_servers"), "RedisCache._servers")
    return tuple(cache._servers)


def pubsub_fileno(pubsub) -> int:
    """The socket of a redis-py PubSub's connection, to poll it without a read (``Connection._sock``)."""
    sock = getattr(pubsub.connection, "_sock", None)
    _require(sock is not None, "redis-py Connection._sock")
    return sock.fileno()


# -- django-oauth-toolkit ----------------------------------------------------------------------------

_require(hasattr(OAuthLibCore, "_extract_params"), "OAuthLibCore._extract_params")
_require("_SCOPES" in DEFAULTS, "oauth2_settings._SCOPES")

#: DOT's private validator methods that ProviderOAuth2Validator overrides or calls.
VALIDATOR_HOOKS = (
    "_authenticate_basic_auth",
    "_check_and_set_request_resource",
    "_create_access_token",
    "_create_authorization_code",
    "_create_refresh_token",
    "_get_additional_claims_is_request_agnostic",
    "_get_client_by_audience",
    "_get_key_for_token",
    "_load_application",
    "_load_id_token",
    "_save_bearer_token",
    "_save_id_token",
    "_set_token_value",
    "_validate_resource_uris",
)
for _hook in VALIDATOR_HOOKS:
    _require(callable(getattr(OAuth2Validator, _hook, None)), f"OAuth2Validator.{_hook}")


#: The instance attribute that DOT's ``TokenChecksumField.pre_save`` hashes when set (the raw token
#: pending, set by ``set_token_value``; the field clears it), else it hashes the ``token`` column.
RAW_TOKEN_ATTRIBUTE = "_raw_token"


def wrap_token_checksum_pre_save(field, wrap: Callable[[Callable], Callable]) -> None:
    """Replace ``pre_save`` of DOT's ``TokenChecksumField`` ``field`` by ``wrap(pre_save)`` (once).

    provider_app fills the ``token`` column of a JWT access token with the JWT's id
    (``internal.storage.keeping_jwt_checksums``): the field's ``pre_save`` would hash that when no raw
    token is pending, as when Django 6 calls ``pre_save`` twice on an insert or the admin saves a row.
    """
    _require(type(field).__name__ == "TokenChecksumField", "DOT's TokenChecksumField")
    if getattr(field.pre_save, "provider_app_wrapped", False):
        return
    wrapped = wrap(field.pre_save)
    wrapped.provider_app_wrapped = True
    field.pre_save = wrapped


def extract_params(core: OAuthLibCore, request) -> tuple[str, str, Any, dict]:
    """``(uri, http_method, body, headers)`` of a Django request, as DOT hands them to oauthlib."""
    return core._extract_params(request)


def settings_scopes() -> list[str]:
    """The scopes of DOT's ``SCOPES`` setting, as DOT lists them (``oauth2_settings._SCOPES``)."""
    return list(oauth2_settings._SCOPES)


# -- moved public paths ------------------------------------------------------------------------------


def moved(old_module: str, name: str, new_module: str) -> Any:
    """``new_module.name`` (``new_module`` may be ``"module:new_name"``), with a DeprecationWarning
    naming the path that moved."""
    new_module, _, new_name = new_module.partition(":")
    new_name = new_name or name
    warnings.warn(
        f"{old_module}.{name} moved to {new_module}.{new_name}; the old path goes in the next release.",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(new_module), new_name)


def deprecated_module(old_module: str, new_modules: dict[str, str] | str) -> Callable[[str], Any]:
    """A module ``__getattr__`` re-exporting names from their new modules, each use warned.

    ``new_modules``: one module for every name, or a mapping of name to module (``"module:new_name"``
    for a name that changed).
    """

    def __getattr__(name: str) -> Any:
        target = new_modules if isinstance(new_modules, str) else new_modules.get(name)
        if target is None or name.startswith("__"):
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        return moved(old_module, name, target)

    return __getattr__
