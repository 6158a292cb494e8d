"""The bearer-token lookup: one SQL statement, built once per process, that loads a token and its user.

The ORM would compile the same ``SELECT ... JOIN`` on every API request, which costs more CPU than
running it. The statement is built from the models' metadata (swapped token and user models
work), values go through the fields' database converters as the ORM's would, and the instances
are made with ``Model.from_db``: fields not loaded (the user's password hash, for one) are deferred.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connections, models, router
from oauth2_provider.models import get_access_token_model

from provider_app.token_cache import USER_FIELDS_NOT_CACHED

TOKEN_FIELDS = ("id", "user", "application", "scope", "expires", "resource", "token_checksum")


@cache
def _statement(alias: str) -> tuple[str, list, list]:
    AccessToken, User = get_access_token_model(), get_user_model()
    connection = connections[alias]
    qn = connection.ops.quote_name
    token_fields = [AccessToken._meta.get_field(name) for name in TOKEN_FIELDS]
    user_fields = [f for f in User._meta.concrete_fields if f.attname not in USER_FIELDS_NOT_CACHED]
    columns = [f"t.{qn(f.column)}" for f in token_fields] + [f"u.{qn(f.column)}" for f in user_fields]
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(AccessToken._meta.db_table)} t "
        f"LEFT OUTER JOIN {qn(User._meta.db_table)} u "
        f"ON u.{qn(User._meta.pk.column)} = t.{qn(AccessToken._meta.get_field('user').column)} "
        f"WHERE t.{qn(AccessToken._meta.get_field('token_checksum').column)} = %s"
    )
    return sql, _with_converters(token_fields, connection), _with_converters(user_fields, connection)


def _with_converters(fields: list, connection) -> list:
    # What SQLCompiler.get_converters() applies: the backend's converters, then the field's.
    result = []
    for field in fields:
        col = field.get_col(field.model._meta.db_table)
        result.append(
            (field, col, connection.ops.get_db_converters(col) + field.get_db_converters(connection))
        )
    return result


def _values(fields: list, row, connection) -> dict:
    values = {}
    for (field, col, converters), value in zip(fields, row, strict=True):
        for converter in converters:
            value = converter(value, col, connection)
        values[field.attname] = value
    return values


def find(token_checksum: str) -> models.Model | None:
    """The access token with this checksum, its ``user`` loaded (``None`` if there is none)."""
    AccessToken, User = get_access_token_model(), get_user_model()
    alias = router.db_for_read(AccessToken)
    connection = connections[alias]
    sql, token_fields, user_fields = _statement(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    access_token = _from_db(AccessToken, alias, _values(token_fields, row[: len(token_fields)], connection))
    if access_token.user_id is not None:
        access_token.user = _from_db(User, alias, _values(user_fields, row[len(token_fields) :], connection))
    return access_token


def _from_db(model: type[models.Model], alias: str, values: dict) -> models.Model:
    names = [f.attname for f in model._meta.concrete_fields]
    return model.from_db(alias, names, [values.get(name, models.DEFERRED) for name in names])
