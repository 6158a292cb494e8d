"""Rows of hand-built SELECT statements turned into model instances as the ORM would.

For the few lookups on the hot path (a bearer token, an authorization code), compiling the same
ORM query on every request costs more CPU than running it. Those statements are built once per
process from the models' metadata (:mod:`provider_app.token_lookup`,
:mod:`provider_app.grant_lookup`); this module gives them the ORM's conversions: each value goes
through the backend's and the field's database converters (``SQLCompiler.get_converters``) and the
instance is made with ``Model.from_db``, fields not selected being deferred.
"""

from __future__ import annotations

from functools import cache

from django.db import models


def columns(fields: list, table_alias: str, quote_name) -> list[str]:
    """``alias."column"`` for each field."""
    return [f"{table_alias}.{quote_name(f.column)}" for f in fields]


def with_converters(fields: list, connection) -> list:
    """``(field, col, converters)`` per field: what ``SQLCompiler.get_converters()`` applies."""
    result = []
    for field in fields:
        col = field.get_col(field.model._meta.db_table)
        result.append(
            (field, col, connection.ops.get_db_converters(col) + field.get_db_converters(connection))
        )
    return result


def values(fields: list, row, connection) -> dict:
    """The converted values of ``row`` (a slice of a result row) by attname."""
    result = {}
    for (field, col, converters), value in zip(fields, row, strict=True):
        for converter in converters:
            value = converter(value, col, connection)
        result[field.attname] = value
    return result


def instance(model: type[models.Model], alias: str, values: dict) -> models.Model:
    """A model instance as loaded by the ORM; fields missing from ``values`` are deferred."""
    names = attnames(model)
    return model.from_db(alias, names, [values.get(name, models.DEFERRED) for name in names])


@cache
def attnames(model: type[models.Model]) -> list[str]:
    """The attnames of a model's concrete fields, in order (computed once per model)."""
    return [f.attname for f in model._meta.concrete_fields]
