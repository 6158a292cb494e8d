"""The token endpoint's authorization-code lookup: one statement, built once per process.

It loads the grant (by the SHA-256 of the code, P16), its user and the authentication context the
authorization endpoint stored for that code (``auth_time``/``amr``/``acr``, P19), which the ORM
would fetch with two queries compiled anew on every code exchange. The user's password hash is not
selected (deferred, as in :mod:`provider_app.token_lookup`).
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connections, models, router
from oauth2_provider.models import get_grant_model

from provider_app.sql_rows import columns, instance, values, with_converters
from provider_app.two_factor.claims import PREFETCHED_CONTEXT
from provider_app.two_factor.models import AuthenticationContext


@cache
def _statement(alias: str) -> tuple[str, list, list, list]:
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


def find(stored_code: str, context_digest: str) -> models.Model | None:
    """The grant whose stored code is ``stored_code``, with ``user`` and :data:`PREFETCHED_CONTEXT`.

    ``context_digest`` is the key of the code's AuthenticationContext
    (:func:`provider_app.two_factor.claims.code_digest`).
    """
    Grant, User = get_grant_model(), get_user_model()
    alias = router.db_for_read(Grant)
    connection = connections[alias]
    sql, grant_fields, user_fields, context_fields = _statement(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [context_digest, stored_code])
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
