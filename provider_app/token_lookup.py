"""The bearer-token lookup: one SQL statement, built once per process, that loads a token and its user.

The ORM would compile the same ``SELECT ... JOIN`` on every API request, which costs more CPU than
running it. The statement is built from the models' metadata (swapped token and user models
work); :mod:`provider_app.sql_rows` converts the row as the ORM would, and fields not loaded (the
user's password hash, for one) are deferred.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connections, models, router
from oauth2_provider.models import get_access_token_model

from provider_app.sql_rows import columns, instance, values, with_converters
from provider_app.token_cache import USER_FIELDS_NOT_CACHED

TOKEN_FIELDS = ("id", "user", "application", "scope", "expires", "resource", "token_checksum")


@cache
def _statement(alias: str) -> tuple[str, list, list]:
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
    access_token = instance(AccessToken, alias, values(token_fields, row[: len(token_fields)], connection))
    if access_token.user_id is not None:
        access_token.user = instance(User, alias, values(user_fields, row[len(token_fields) :], connection))
    return access_token
