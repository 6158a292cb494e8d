"""The storage mechanics of a token request: what is read and written, in how few round trips.

Mechanics only: what is written, and in which order, is decided by
:class:`provider_app.oauth2_validator.ProviderOAuth2Validator`; nothing here makes a protocol
decision. Three parts, each falling back to the ORM:

**The hot reads in hand-built SQL.** For the few lookups on the hot path (a bearer token with its
user, an authorization code with its user and authentication context, P16/P19), compiling the same
ORM query on every request costs more CPU than running it. Those statements are built once per
process from the models' metadata (swapped token and user models work), and their rows become model
instances as the ORM would make them: each value goes through the backend's and the field's database
converters (``SQLCompiler.get_converters``) and the instance is made with ``Model.from_db``, fields
not selected (the user's password hash, for one) being deferred.

**A token response in one transaction, nothing read back.** Stock DOT writes a token response of
the authorization-code flow in two transactions and reads back what it just wrote:

- oauthlib signs the ID token before ``save_bearer_token`` runs, and DOT inserts the ``IDToken`` row
  right then, in a transaction of its own (one more commit, one more fsync);
- to link that row to the access token, DOT then decodes the ID token it has just signed, looks up
  the client by audience, verifies the signature and selects the ``IDToken`` by ``jti`` (two
  queries and an RSA verification for a row it holds in memory).

Here the ``IDToken`` is built when oauthlib signs it and inserted with the access token, inside the
token transaction (:func:`in_one_transaction`): a request that fails after signing (a code redeemed
concurrently, a rotated refresh token presented again) rolls it back with everything else, so no
orphan ID token remains. The access and refresh tokens created are kept in the request's
:class:`TokenRequestState` for later steps of the same request, which need not query them again.

**The rows of one token response, written together: one statement on PostgreSQL.** A code exchange
adds an ID token, an access token, a refresh token, the redeemed code's record and an audit event,
and links the authentication context to the ID token. Saved one by one, that is one ORM compilation
and one round trip to the database per row, each waiting for the previous one because it needs its
primary key. :class:`RowBatch` collects those writes in order (:func:`save_row`) and
:meth:`RowBatch.flush` sends them:

- on PostgreSQL, as a single statement: each row is a data-modifying ``WITH`` query
  (``INSERT ... SELECT ... RETURNING pk``; an ``UPDATE`` for a link), and a key that points at an
  earlier row of the batch is a scalar subquery on that row's query. PostgreSQL runs every such
  query exactly once, in one snapshot, and the statement succeeds or fails as a whole;
- on other databases, or when a receiver outside provider_app listens to the ``pre_save`` or
  ``post_save`` signal of one of the models, or for a model that changes how it saves (its own
  ``save()``, fields the database fills in): with ``Model.save()`` row after row, signals
  included, exactly as before.

Values go through each field's ``pre_save`` and ``get_db_prep_save`` as ``Model.save()`` does
(``auto_now_add`` timestamps, DOT's token checksums). Primary keys are set on the instances when the
batch is flushed; until then a row of the batch is referred to by the instance itself (a foreign
key assigned as usual, or ``pk_of`` for a plain integer column). Receivers that do nothing for a
new row (provider_app's cache invalidation reacts to changed and deleted tokens only) are declared
with :func:`ignore_on_insert` so that they do not force the row-by-row path.

A batch may start with a *claim* (:meth:`RowBatch.claim`): the deletion of one row that decides
whether anything is written at all, as the redemption of an authorization code decides whether its
tokens are issued. In the single statement every other write is conditional on the claimed row
(``WHERE EXISTS``), so a request that loses the race for the row writes nothing even outside a
transaction: such a batch can be sent alone, in autocommit mode, without ``BEGIN`` and ``COMMIT``
round trips (:meth:`RowBatch.writes_one_statement`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import connections, models, router, transaction
from django.db.models.deletion import Collector
from django.db.models.signals import post_save, pre_save
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from provider_app.internal import compat
from provider_app.models import AuthenticationContext

#: Attribute of a grant loaded by :func:`grant_by_code`: its authentication context, loaded with it.
PREFETCHED_CONTEXT = "provider_app_prefetched_context"

T = TypeVar("T")


# ==================================================================================================
# The rows of one token response, written together (RowBatch).
# ==================================================================================================

_INSERT_NEUTRAL: set[str] = set()


def ignore_on_insert(*dispatch_uids: str) -> None:
    """Declare save receivers (by ``dispatch_uid``) that do nothing when a row is created."""
    _INSERT_NEUTRAL.update(dispatch_uids)


@dataclass
class _Insert:
    instance: models.Model
    pk_of: dict[str, models.Model] = field(default_factory=dict)


@dataclass
class _Update:
    model: type[models.Model]
    pk: Any
    values: dict[str, Any]


@dataclass
class _Claim:
    model: type[models.Model]
    pk: Any
    otherwise: type[Exception]


class RowBatch:
    """Inserts and updates of one transaction, flushed in the order they were added."""

    def __init__(self) -> None:
        self._claim: _Claim | None = None
        self._steps: list[_Insert | _Update] = []

    def claim(self, model: type[models.Model], pk: Any, *, otherwise: type[Exception]) -> None:
        """Delete this existing row before anything else. If there is no row to delete (another
        transaction deleted it first), nothing of the batch is written and :meth:`flush` raises
        ``otherwise()``."""
        if self._claim is not None:
            raise ValueError("a batch claims one row at most")
        self._claim = _Claim(model, pk, otherwise)

    def insert(self, instance: models.Model, *, pk_of: dict[str, models.Model] | None = None):
        """Add ``instance`` (a new row). ``pk_of`` maps a column's attname to the row whose primary
        key it takes; a foreign key to a row of the batch needs nothing more than the assignment."""
        self._steps.append(_Insert(instance, dict(pk_of or {})))
        return instance

    def update(self, model: type[models.Model], pk: Any, **values: Any) -> None:
        """Set columns (by attname) of one existing row; a value may be a row of the batch, whose
        primary key is then written."""
        self._steps.append(_Update(model, pk, values))

    def writes_one_statement(self) -> bool:
        """Whether :meth:`flush` sends a single statement, which is atomic on its own."""
        steps = self._all_steps()
        return bool(steps) and _one_statement_possible(steps, _alias(steps))

    def flush(self) -> None:
        """Write everything added so far: in the caller's transaction, or as a transaction of its
        own when :meth:`writes_one_statement`."""
        steps = self._all_steps()
        self._claim, self._steps = None, []
        if not steps:
            return
        alias = _alias(steps)
        if _one_statement_possible(steps, alias):
            _write_in_one_statement(steps, alias)
        else:
            _write_row_by_row(steps, alias)

    def _all_steps(self) -> list:
        return [self._claim, *self._steps] if self._claim is not None else list(self._steps)


def _alias(steps: list) -> str:
    return router.db_for_write(_model_of(steps[0]))


def delete_by_pk(model: type[models.Model], pk: Any) -> int:
    """Delete one row now; returns how many rows were deleted (0 or 1).

    One ``DELETE`` statement when Django's deletion would be one anyway (no cascades, no delete
    signal receivers: ``Collector.can_fast_delete``), without compiling a query; else the ORM's.
    """
    alias = router.db_for_write(model)
    if not Collector(using=alias, origin=None).can_fast_delete(model):
        return model._base_manager.using(alias).filter(pk=pk).delete()[0]
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_delete_statement(model, alias), [model._meta.pk.get_db_prep_value(pk, connection)])
        return cursor.rowcount


@cache
def _delete_statement(model: type[models.Model], alias: str) -> str:
    qn = connections[alias].ops.quote_name
    return f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(model._meta.pk.column)} = %s"


def _model_of(step: _Insert | _Update | _Claim) -> type[models.Model]:
    return type(step.instance) if isinstance(step, _Insert) else step.model


# -- choosing the path ----------------------------------------------------------------------------


def _one_statement_possible(steps: list, alias: str) -> bool:
    if connections[alias].vendor != "postgresql":
        return False
    for step in steps:
        model = _model_of(step)
        if router.db_for_write(model) != alias:
            return False
        if isinstance(step, _Insert) and not (_plain_insert(model) and _no_foreign_receivers(model)):
            return False
        if isinstance(step, _Claim) and not Collector(using=alias, origin=None).can_fast_delete(model):
            return False
    return True


@cache
def _plain_insert(model: type[models.Model]) -> bool:
    """A model saved by Django's own code, with an auto primary key as its only returned column."""
    meta = model._meta
    return (
        meta.auto_field is not None
        and not meta.parents
        and list(meta.db_returning_fields) == [meta.pk]
        and all(getattr(model, name) is getattr(models.Model, name) for name in _SAVE_METHODS)
        and not any(hasattr(f, "get_placeholder") for f in meta.local_concrete_fields)
        and all(f.db_type(connections[router.db_for_write(model)]) for f in _insert_fields(model))
    )


_SAVE_METHODS = ("save", "save_base", "_save_parents", "_save_table", "_do_insert")


def _no_foreign_receivers(model: type[models.Model]) -> bool:
    return not any(_foreign_receivers(signal, model) for signal in (pre_save, post_save))


def _foreign_receivers(signal, sender) -> bool:
    return any(key not in _INSERT_NEUTRAL for key in compat.receiver_keys(signal, sender))


# -- row by row (any database) --------------------------------------------------------------------


def _write_row_by_row(steps: list, alias: str) -> None:
    for step in steps:
        if isinstance(step, _Claim):
            if not delete_by_pk(step.model, step.pk):
                raise step.otherwise()
        elif isinstance(step, _Insert):
            for attname, row in step.pk_of.items():
                setattr(step.instance, attname, row.pk)
            step.instance.save(using=alias)
        else:
            values = {name: _resolved(value) for name, value in step.values.items()}
            step.model._base_manager.using(alias).filter(pk=step.pk).update(**values)


def _resolved(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


# -- one statement (PostgreSQL) -------------------------------------------------------------------


def _write_in_one_statement(steps: list, alias: str) -> None:
    connection = connections[alias]
    qn = connection.ops.quote_name
    claim = steps[0] if isinstance(steps[0], _Claim) else None
    # Every write depends on the claimed row: a lost claim writes nothing, transaction or not.
    condition = " WHERE EXISTS (SELECT 1 FROM claimed)" if claim is not None else ""
    names = {}  # id(instance) -> name of its WITH query
    queries, params, results = [], [], []
    if claim is not None:
        queries.append(f"claimed AS ({_delete_statement(claim.model, alias)} RETURNING 1)")
        params.append(claim.model._meta.pk.get_db_prep_value(claim.pk, connection))
        results.append("(SELECT count(*) FROM claimed)")
    inserted = []
    for index, step in enumerate(steps[1:] if claim is not None else steps):
        name = f"w{index}"
        if isinstance(step, _Insert):
            sql, step_params = _insert_query(step, names, connection, condition)
            names[id(step.instance)] = name
            inserted.append(step)
            results.append(f"(SELECT {qn(type(step.instance)._meta.pk.column)} FROM {name})")
        else:
            sql, step_params = _update_query(step, names, connection, condition)
        queries.append(f"{name} AS ({sql})")
        params.extend(step_params)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(queries)} SELECT {', '.join(results) or '1'}", params)
        row = list(cursor.fetchone())
    if claim is not None and not row.pop(0):
        raise claim.otherwise()
    for step, pk in zip(inserted, row if inserted else (), strict=True):
        _mark_saved(step, pk, alias)


def _insert_query(step: _Insert, names: dict, connection, condition: str) -> tuple[str, list]:
    # INSERT ... SELECT (not VALUES) so that the row can depend on the claim; the SELECT list has
    # no target types, hence the casts (NULL, plain strings).
    instance = step.instance
    model = type(instance)
    table, columns, returning, fields = _insert_shape(model, connection.alias)
    qn = connection.ops.quote_name
    expressions, params = [], []
    for f, own_pre_save, cast in fields:
        row = step.pk_of.get(f.attname) or (_unsaved_related(instance, f) if f.is_relation else None)
        if row is not None and (row.pk is None or id(row) in names):
            expressions.append(_pk_subquery(row, names, qn, f"{model.__name__}.{f.attname}"))
            continue
        if row is not None:  # pk_of an existing row
            value = row.pk
        else:
            value = f.pre_save(instance, add=True) if own_pre_save else getattr(instance, f.attname)
        if hasattr(value, "resolve_expression"):
            raise ValueError(f"{model.__name__}.{f.attname}: expressions are not written by RowBatch")
        expressions.append(cast)
        params.append(f.get_db_prep_save(value, connection))
    sql = f"INSERT INTO {table} ({columns}) SELECT {', '.join(expressions)}{condition} RETURNING {returning}"
    return sql, params


@cache
def _insert_shape(model: type[models.Model], alias: str) -> tuple[str, str, str, list]:
    """Quoted table, column list and primary key, and per column ``(field, has its own pre_save,
    placeholder cast to the column's type)``: ``Field.pre_save`` only reads the attribute.

    The cast leaves out the type modifier (``varchar``, not ``varchar(64)``): an explicit cast to
    ``varchar(64)`` would cut a longer value silently, while the insert's own assignment to the
    column refuses it as an ``INSERT ... VALUES`` does."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    meta = model._meta
    fields = _insert_fields(model)
    return (
        qn(meta.db_table),
        ", ".join(qn(f.column) for f in fields),
        qn(meta.pk.column),
        [
            (
                f,
                type(f).pre_save is not models.Field.pre_save,
                f"CAST(%s AS {re.sub(r'[(][^)]*[)]', '', f.db_type(connection))})",
            )
            for f in fields
        ],
    )


@cache
def _insert_fields(model: type[models.Model]) -> list:
    return [f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field]


def _unsaved_related(instance: models.Model, f) -> models.Model | None:
    """The related instance of a foreign key when it is not saved yet (a row of the batch)."""
    if not f.is_relation or not f.is_cached(instance):
        return None
    related = f.get_cached_value(instance)
    if related is None:
        return None
    if related.pk is None:
        return related
    if getattr(instance, f.attname) is None:
        setattr(instance, f.name, related)  # saved after the assignment: as Model.save() does
    return None


def _pk_subquery(row: models.Model, names: dict, qn, where: str) -> str:
    """The primary key of an earlier row of the batch, as a scalar subquery on its WITH query."""
    if id(row) not in names:
        raise ValueError(f"{where} refers to a row that is not saved before it")
    return f"(SELECT {qn(type(row)._meta.pk.column)} FROM {names[id(row)]})"


def _update_query(step: _Update, names: dict, connection, condition: str) -> tuple[str, list]:
    meta = step.model._meta
    qn = connection.ops.quote_name
    assignments, params = [], []
    for attname, value in step.values.items():
        f = meta.get_field(attname)
        if isinstance(value, models.Model) and value.pk is None:
            subquery = _pk_subquery(value, names, qn, f"{step.model.__name__}.{attname}")
            assignments.append(f"{qn(f.column)} = {subquery}")
            continue
        assignments.append(f"{qn(f.column)} = %s")
        params.append(f.get_db_prep_save(_resolved(value), connection))
    params.append(meta.pk.get_db_prep_value(step.pk, connection))
    sql = f"UPDATE {qn(meta.db_table)} SET {', '.join(assignments)} WHERE {qn(meta.pk.column)} = %s"
    if condition:
        sql += " AND EXISTS (SELECT 1 FROM claimed)"
    return sql, params


def _mark_saved(step: _Insert, pk: Any, alias: str) -> None:
    instance = step.instance
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = alias
    for f in _insert_fields(type(instance)):
        if f.is_relation and getattr(instance, f.attname) is None and f.is_cached(instance):
            related = f.get_cached_value(instance)
            if related is not None:
                setattr(instance, f.name, related)
    for attname, row in step.pk_of.items():
        setattr(instance, attname, row.pk)


# --------------------------------------------------------------------------------------------------
# Rows of hand-built SELECT statements turned into model instances as the ORM would.
# --------------------------------------------------------------------------------------------------

# User fields never loaded with a bearer token nor copied into the token cache: the password hash
# is a secret at rest (P16);
# last_login changes on every sign-in and is not needed to serve an API request.
USER_FIELDS_NOT_CACHED = frozenset({"password", "last_login"})


def columns(fields: list, table_alias: str, quote_name) -> list[str]:
    """``alias."column"`` for each field."""
    return [f"{table_alias}.{quote_name(f.column)}" for f in fields]


def with_converters(fields: list, connection) -> list:
    """``(field, col, converters)`` per field: what ``SQLCompiler.get_converters()`` applies."""
    result = []
    for model_field in fields:
        col = model_field.get_col(model_field.model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + model_field.get_db_converters(connection)
        result.append((model_field, col, converters))
    return result


def values(fields: list, row, connection) -> dict:
    """The converted values of ``row`` (a slice of a result row) by attname."""
    result = {}
    for (model_field, col, converters), value in zip(fields, row, strict=True):
        for converter in converters:
            value = converter(value, col, connection)
        result[model_field.attname] = value
    return result


def instance(model: type[models.Model], alias: str, values: dict) -> models.Model:
    """A model instance as loaded by the ORM; fields missing from ``values`` are deferred."""
    names = attnames(model)
    return model.from_db(alias, names, [values.get(name, models.DEFERRED) for name in names])


@cache
def attnames(model: type[models.Model]) -> list[str]:
    """The attnames of a model's concrete fields, in order (computed once per model)."""
    return [f.attname for f in model._meta.concrete_fields]


# --------------------------------------------------------------------------------------------------
# The bearer-token lookup: one SQL statement, built once per process, that loads a token and its user.
# --------------------------------------------------------------------------------------------------

TOKEN_FIELDS = ("id", "user", "application", "scope", "expires", "resource", "token_checksum")


@cache
def _access_token_statement(alias: str) -> tuple[str, list, list]:
    AccessToken, User = get_access_token_model(), get_user_model()
    connection = connections[alias]
    qn = connection.ops.quote_name
    token_fields = [AccessToken._meta.get_field(name) for name in TOKEN_FIELDS]
    user_fields = [f for f in User._meta.concrete_fields if f.attname not in USER_FIELDS_NOT_CACHED]
    selected = columns(token_fields, "t", qn) + columns(user_fields, "u", qn)
    sql = (
        f"SELECT {', '.join(selected)} FROM {qn(AccessToken._meta.db_table)} t "
        f"LEFT OUTER JOIN {qn(User._meta.db_table)} u "
        f"ON u.{qn(User._meta.pk.column)} = t.{qn(AccessToken._meta.get_field('user').column)} "
        f"WHERE t.{qn(AccessToken._meta.get_field('token_checksum').column)} = %s"
    )
    return sql, with_converters(token_fields, connection), with_converters(user_fields, connection)


def access_token_by_checksum(token_checksum: str) -> models.Model | None:
    """The access token with this checksum, its ``user`` loaded (``None`` if there is none)."""
    AccessToken, User = get_access_token_model(), get_user_model()
    alias = router.db_for_read(AccessToken)
    connection = connections[alias]
    sql, token_fields, user_fields = _access_token_statement(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    access_token = instance(AccessToken, alias, values(token_fields, row[: len(token_fields)], connection))
    if access_token.user_id is not None:
        access_token.user = instance(User, alias, values(user_fields, row[len(token_fields) :], connection))
    return access_token


# --------------------------------------------------------------------------------------------------
# The token endpoint's authorization-code lookup: one statement, built once per process.
# --------------------------------------------------------------------------------------------------


@cache
def _grant_statement(alias: str) -> tuple[str, list, list, list]:
    Grant, User = get_grant_model(), get_user_model()
    connection = connections[alias]
    qn = connection.ops.quote_name
    grant_fields = list(Grant._meta.concrete_fields)
    user_fields = [f for f in User._meta.concrete_fields if f.attname != "password"]
    context_fields = list(AuthenticationContext._meta.concrete_fields)
    selected = (
        columns(grant_fields, "g", qn) + columns(user_fields, "u", qn) + columns(context_fields, "c", qn)
    )
    grant_user = qn(Grant._meta.get_field("user").column)
    sql = (
        f"SELECT {', '.join(selected)} FROM {qn(Grant._meta.db_table)} g "
        f"INNER JOIN {qn(User._meta.db_table)} u ON u.{qn(User._meta.pk.column)} = g.{grant_user} "
        f"LEFT OUTER JOIN {qn(AuthenticationContext._meta.db_table)} c "
        f"ON c.{qn(AuthenticationContext._meta.get_field('code_digest').column)} = %s "
        f"AND c.{qn(AuthenticationContext._meta.get_field('user').column)} = g.{grant_user} "
        f"WHERE g.{qn(Grant._meta.get_field('code').column)} = %s"
    )
    return (
        sql,
        with_converters(grant_fields, connection),
        with_converters(user_fields, connection),
        with_converters(context_fields, connection),
    )


def grant_by_code(code_digest: str) -> models.Model | None:
    """The grant stored for the code whose digest is ``code_digest`` (P16), with ``user`` and
    :data:`PREFETCHED_CONTEXT` (the code's AuthenticationContext, keyed by the same digest)."""
    Grant, User = get_grant_model(), get_user_model()
    alias = router.db_for_read(Grant)
    connection = connections[alias]
    sql, grant_fields, user_fields, context_fields = _grant_statement(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [code_digest, code_digest])
        row = cursor.fetchone()
    if row is None:
        return None
    g, u = len(grant_fields), len(grant_fields) + len(user_fields)
    grant = instance(Grant, alias, values(grant_fields, row[:g], connection))
    grant.user = instance(User, alias, values(user_fields, row[g:u], connection))
    context = values(context_fields, row[u:], connection)
    setattr(
        grant,
        PREFETCHED_CONTEXT,
        instance(AuthenticationContext, alias, context) if context["id"] is not None else None,
    )
    return grant


# ==================================================================================================
# A token response in one transaction, nothing read back.
# ==================================================================================================


@dataclass
class TokenRequestState:
    """What one oauthlib request carries from one validator step to the next.

    Attached once to the oauthlib request (:func:`state_of`). Kept in the request's ``__dict__``:
    oauthlib answers any other attribute name from the request's parameters, which a client chooses.
    """

    #: The grant ``validate_code`` accepted; later checks (PKCE, redirect_uri, nonce) read this one.
    grant: models.Model | None = None
    #: The grant last looked up by code alone: ``(code, grant or None)``.
    grant_by_code: tuple[str, models.Model | None] | None = None
    #: The grant was consumed with the token insert.
    code_claimed: bool = False
    #: The registered resource servers the access token is for (``internal.tokens.Audience``).
    audience: Any = None
    #: How the user authenticated for this grant (``AuthenticationContext`` or None), once read
    #: (``internal.login.context_of``).
    authentication_context: models.Model | None = None
    authentication_context_read: bool = False
    #: The ID token this response stored (``_id_token_stored``).
    stored_id_token: models.Model | None = None
    #: The ID token signed for this request, inserted with its access token.
    pending_id_token: models.Model | None = None
    #: The access token and the refresh token this request created.
    issued_access_token: models.Model | None = None
    issued_refresh_token: models.Model | None = None
    #: The rows of this token response, written when its transaction ends.
    row_batch: RowBatch | None = None
    #: RFC 8693: the requesting client's exchange policy, and the exchange the validator accepted
    #: (``internal.token_exchange.Exchange``), written with the new access token.
    exchange_policy: models.Model | None = None
    exchange: Any = None
    #: The ``iss`` and ``jti`` of the JWT access token minted for this request (RFC 9068), kept in
    #: the stored row (:func:`jwt_id_marker`) so that its revocation can name it (E1).
    jwt_id: tuple[str, str] | None = None


_STATE = "provider_app_state"

#: What the access token's ``token`` column holds for a JWT access token: ``jwt-id:<jti> <iss>``.
#: DOT leaves that column empty when tokens are stored hashed (``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``,
#: P16); the JWT's ``jti`` and ``iss`` are identifiers, not credentials, and a revocation needs them to
#: tell resource servers which JWT died (RFC 8417 ``jwt_id`` subject, E1). No extra row, no extra write.
JWT_ID_PREFIX = "jwt-id:"


def jwt_id_marker(issuer: str, jti: str) -> str:
    return f"{JWT_ID_PREFIX}{jti} {issuer}"


def keeping_jwt_checksums(pre_save: Callable) -> Callable:
    """DOT's ``TokenChecksumField.pre_save``, keeping the stored checksum of a JWT's row when no raw
    token is pending: its ``token`` column holds the JWT's id, never to be hashed into the checksum
    (installed by ``ProviderAppConfig.ready()`` through :func:`compat.wrap_token_checksum_pre_save`)."""

    def keep(instance, add: bool):
        if getattr(instance, compat.RAW_TOKEN_ATTRIBUTE, None) is None and stored_jwt_id(instance.token):
            return instance.token_checksum
        return pre_save(instance, add)

    return keep


def stored_jwt_id(value: str | None) -> tuple[str, str] | None:
    """``(iss, jti)`` from a stored access token's ``token`` column; ``None`` for an opaque token."""
    if not value or not value.startswith(JWT_ID_PREFIX):
        return None
    jti, _, issuer = value[len(JWT_ID_PREFIX) :].partition(" ")
    return (issuer, jti) if jti and issuer else None


def state_of(request) -> TokenRequestState:
    """The state of an oauthlib request, made on first use."""
    state = request.__dict__.get(_STATE)
    if state is None:
        state = request.__dict__[_STATE] = TokenRequestState()
    return state


def row_batch(request) -> RowBatch | None:
    """The batch of the token response being saved for ``request``; None outside of it."""
    return state_of(request).row_batch if request is not None else None


def save_row(instance, request, **pk_of):
    """Add ``instance`` to the request's batch, or save it now when there is none (``request``
    may be None). ``pk_of``: see :meth:`RowBatch.insert`."""
    batch = row_batch(request)
    if batch is None:
        for attname, row in pk_of.items():
            setattr(instance, attname, row.pk)
        instance.save()
    else:
        batch.insert(instance, pk_of=pk_of)
    return instance


def _nothing_sent(alias: str) -> bool:
    """The current transaction has sent no statement and has nothing to run on commit."""
    return compat.transaction_is_untouched(connections[alias])


def in_one_transaction(request, save: Callable[[], T]) -> T:
    """Run ``save`` (DOT's ``_save_bearer_token``) in one transaction on the access token's database,
    with the batch of the new rows flushed at its end.

    When the transaction has sent nothing to the database (a code exchange, client_credentials:
    everything is in the batch, the code's claim included), the batch goes after it, alone: one
    statement is a transaction of its own, so BEGIN and COMMIT cost no round trips.
    """
    state = state_of(request)
    batch = state.row_batch = RowBatch()
    alias = router.db_for_write(get_access_token_model())
    try:
        with transaction.atomic(using=alias):
            result = save()
            if not (batch.writes_one_statement() and _nothing_sent(alias)):
                batch.flush()
        batch.flush()
    finally:
        state.row_batch = None
    return result


class TokenStorageMixin:
    """DOT 3.4's ``_save_id_token``, ``_create_access_token`` and ``_create_refresh_token``, adding
    their rows to the token response's batch. Extension point: :meth:`_id_token_stored`."""

    def _save_id_token(self, jti, request, expires, *args, **kwargs):
        # Called by DOT's finalize_id_token once the JWT is signed: keep the row for the token
        # transaction instead of committing it now (same fields as DOT's _save_id_token).
        id_token = get_id_token_model()(
            user=request.user,
            scope=request.scope or " ".join(request.scopes),
            expires=expires,
            jti=jti,
            application=request.client,
        )
        state_of(request).pending_id_token = id_token
        return id_token

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        id_token = self._store_pending_id_token(request) if token.get("id_token") else None
        if token.get("id_token") and id_token is None:
            # An ID token signed elsewhere (a subclass of DOT's flow): DOT's own lookup.
            id_token = self._load_id_token(token["id_token"])
        access_token = get_access_token_model()(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(access_token, token["access_token"])
        jwt_id = state_of(request).jwt_id
        if jwt_id is not None and not access_token.token:
            access_token.token = jwt_id_marker(*jwt_id)  # never the token itself (P16)
        save_row(access_token, request)
        state_of(request).issued_access_token = access_token
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        # DOT 3.4's _create_refresh_token, the row added to the batch.
        if previous_refresh_token:
            token_family = previous_refresh_token.token_family
        else:
            token_family = uuid.uuid4()
        refresh_token = get_refresh_token_model()(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=token_family,
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(refresh_token, refresh_token_code)
        save_row(refresh_token, request)
        state_of(request).issued_refresh_token = refresh_token
        return refresh_token

    def _store_pending_id_token(self, request):
        state = state_of(request)
        id_token, state.pending_id_token = state.pending_id_token, None
        if id_token is None:
            return None
        save_row(id_token, request)
        self._id_token_stored(id_token, request)
        return id_token

    def _id_token_stored(self, id_token, request) -> None:
        """Hook: ``id_token`` is stored in the token transaction (added to :func:`row_batch`, whose
        other writes may refer to it)."""
