"""The rows of one token response, written together: one statement on PostgreSQL.

A code exchange adds an ID token, an access token, a refresh token, the redeemed code's record and
an audit event, and links the authentication context to the ID token. Saved one by one, that is
one ORM compilation and one round trip to the database per row, each waiting for the previous one
because it needs its primary key. :class:`RowBatch` collects those writes in order and
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
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connections, models, router
from django.db.models.deletion import Collector
from django.db.models.signals import post_save, pre_save

from provider_app.internal import compat

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
