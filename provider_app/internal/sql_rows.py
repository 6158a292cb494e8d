"""Hand-built SQL for the hot reads, turned into model instances as the ORM would.

Rows of hand-built SELECT statements turned into model instances as the ORM would.

For the few lookups on the hot path (a bearer token, an authorization code), compiling the same
ORM query on every request costs more CPU than running it. Those statements are built once per
process from the models' metadata (:mod:`provider_app.internal.sql_rows`,
:mod:`provider_app.internal.sql_rows`); this module gives them the ORM's conversions: each value goes
through the backend's and the field's database converters (``SQLCompiler.get_converters``) and the
instance is made with ``Model.from_db``, fields not selected being deferred.

The bearer-token lookup: one SQL statement, built once per process, that loads a token and its user.

The ORM would compile the same ``SELECT ... JOIN`` on every API request, which costs more CPU than
running it. The statement is built from the models' metadata (swapped token and user models
work); :mod:`provider_app.internal.sql_rows` converts the row as the ORM would, and fields not loaded (the
user's password hash, for one) are deferred.

The token endpoint's authorization-code lookup: one statement, built once per process.

It loads the grant (by the SHA-256 of the code, P16), its user and the authentication context the
authorization endpoint stored for that code (``auth_time``/``amr``/``acr``, P19), which the ORM
would fetch with two queries compiled anew on every code exchange. The user's password hash is not
selected (deferred, as in :mod:`provider_app.internal.sql_rows`).
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connections, models, router
from oauth2_provider.models import get_access_token_model, get_grant_model

from provider_app.internal.login import PREFETCHED_CONTEXT
from provider_app.models import AuthenticationContext

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
