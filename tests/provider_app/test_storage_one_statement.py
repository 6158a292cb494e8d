"""provider_app.internal.storage: the rows of a token response written together.

On PostgreSQL a batch is one statement; elsewhere, or when someone else listens to the save
signals, it is Model.save() row after row. Both must store exactly what the ORM stores.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_delete
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken, set_token_value

from provider_app.internal.storage import RowBatch, delete_by_pk
from provider_app.models import AuditEvent, AuthenticationContext, RedeemedCode

pytestmark = pytest.mark.django_db
ONE_STATEMENT = connection.vendor == "postgresql"


def _token_rows(user, application, batch: RowBatch, *, code_hash: str = "c" * 64):
    """What a code exchange adds: ID token, context link, access and refresh tokens, redemption."""
    expires = timezone.now() + timedelta(hours=1)
    context = AuthenticationContext.objects.create(
        user=user, code_digest="d" * 64, auth_time=timezone.now(), amr=["pwd"], acr="1"
    )
    id_token = batch.insert(
        IDToken(user=user, application=application, jti=uuid.uuid4(), expires=expires, scope="openid")
    )
    batch.update(AuthenticationContext, context.pk, id_token_id=id_token, code_digest=None)
    access_token = AccessToken(
        user=user, application=application, id_token=id_token, expires=expires, scope="openid"
    )
    set_token_value(access_token, "access-value")
    batch.insert(access_token)
    refresh_token = RefreshToken(
        user=user, application=application, access_token=access_token, token_family=uuid.uuid4()
    )
    set_token_value(refresh_token, "refresh-value")
    batch.insert(refresh_token)
    redemption = RedeemedCode(
        code_hash=code_hash,
        application_id=application.pk,
        user_id=user.pk,
        expires=expires,
        token_family=refresh_token.token_family,
    )
    batch.insert(redemption, pk_of={"access_token_id": access_token})
    batch.insert(AuditEvent(event="token.issued", user=user, application=application, details={"a": 1}))
    return context, id_token, access_token, refresh_token, redemption


def test_rows_are_written_with_their_links(user, application):
    batch = RowBatch()
    context, id_token, access_token, refresh_token, redemption = _token_rows(user, application, batch)
    assert access_token.pk is None  # nothing written before the flush
    with CaptureQueriesContext(connection) as queries:
        batch.flush()
    writes = [q["sql"] for q in queries]
    if ONE_STATEMENT:
        assert len(writes) == 1 and writes[0].startswith("WITH ")
    else:
        assert len(writes) == 6  # five inserts and the update, row by row
    for row in (id_token, access_token, refresh_token, redemption):
        assert row.pk is not None and not row._state.adding and row._state.db == "default"
    stored = AccessToken.objects.get(pk=access_token.pk)
    assert stored.id_token_id == id_token.pk and access_token.id_token_id == id_token.pk
    # DOT's checksum field computed the stored checksum from the token value, as on save().
    assert stored.token_checksum == hashlib.sha256(b"access-value").hexdigest()
    assert RefreshToken.objects.get(pk=refresh_token.pk).access_token_id == access_token.pk
    assert RedeemedCode.objects.get(pk=redemption.pk).access_token_id == access_token.pk
    context.refresh_from_db()
    assert context.id_token_id == id_token.pk and context.code_digest is None
    event = AuditEvent.objects.get(event="token.issued")
    assert event.details == {"a": 1} and event.user == user and event.created is not None
    assert abs((stored.created - timezone.now()).total_seconds()) < 60  # auto_now_add applied


def test_a_failing_row_leaves_nothing_behind(user, application):
    RedeemedCode.objects.create(
        code_hash="e" * 64, application=application, user=user, expires=timezone.now() + timedelta(hours=1)
    )
    before = (IDToken.objects.count(), AccessToken.objects.count(), AuditEvent.objects.count())
    batch = RowBatch()
    context, *_ = _token_rows(user, application, batch, code_hash="e" * 64)  # unique code_hash taken
    with pytest.raises(IntegrityError), transaction.atomic():
        batch.flush()
    assert (IDToken.objects.count(), AccessToken.objects.count(), AuditEvent.objects.count()) == before
    context.refresh_from_db()
    assert context.id_token_id is None and context.code_digest == "d" * 64


def test_a_foreign_save_receiver_gets_its_signals(user, application):
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.pk, created))

    post_save.connect(receiver, sender=RefreshToken, dispatch_uid="test-row-batch")
    try:
        batch = RowBatch()
        _, _, _, refresh_token, _ = _token_rows(user, application, batch)
        with CaptureQueriesContext(connection) as queries:
            batch.flush()
    finally:
        post_save.disconnect(sender=RefreshToken, dispatch_uid="test-row-batch")
    assert seen == [(refresh_token.pk, True)]
    assert len(queries) == 6  # row by row, whatever the database
    assert RefreshToken.objects.get(pk=refresh_token.pk).access_token_id is not None


def test_a_row_of_another_batch_is_refused(user, application):
    id_token = IDToken(
        user=user, application=application, jti=uuid.uuid4(), expires=timezone.now(), scope="openid"
    )
    batch = RowBatch()
    batch.insert(AccessToken(user=user, application=application, id_token=id_token, expires=timezone.now()))
    with pytest.raises(ValueError), transaction.atomic():
        batch.flush()
    assert not AccessToken.objects.exists()


def test_delete_by_pk_counts_what_it_deleted(user, application):
    grant = Grant.objects.create(
        user=user, application=application, code="x" * 64, expires=timezone.now(), redirect_uri="https://a/"
    )
    with CaptureQueriesContext(connection) as queries:
        assert delete_by_pk(Grant, grant.pk) == 1
    assert [q["sql"] for q in queries][0].startswith("DELETE FROM")
    assert delete_by_pk(Grant, grant.pk) == 0
    assert not Grant.objects.exists()


def test_delete_by_pk_sends_delete_signals_when_someone_listens(user, application):
    grant = Grant.objects.create(
        user=user, application=application, code="y" * 64, expires=timezone.now(), redirect_uri="https://a/"
    )
    seen = []
    pre_delete.connect(
        lambda sender, instance, **kw: seen.append(instance.pk),
        sender=Grant,
        weak=False,
        dispatch_uid="test-row-batch-delete",
    )
    try:
        assert delete_by_pk(Grant, grant.pk) == 1
    finally:
        pre_delete.disconnect(sender=Grant, dispatch_uid="test-row-batch-delete")
    assert seen == [grant.pk]


def _grant(user, application, code: str):
    return Grant.objects.create(
        user=user, application=application, code=code, expires=timezone.now(), redirect_uri="https://a/"
    )


class Lost(Exception):
    pass


def test_a_claim_deletes_its_row_with_the_writes(user, application):
    grant = _grant(user, application, "g" * 64)
    batch = RowBatch()
    batch.claim(Grant, grant.pk, otherwise=Lost)
    _, _, access_token, _, _ = _token_rows(user, application, batch)
    assert batch.writes_one_statement() is ONE_STATEMENT
    with CaptureQueriesContext(connection) as queries:
        batch.flush()
    assert len(queries) == (1 if ONE_STATEMENT else 7)
    assert not Grant.objects.filter(pk=grant.pk).exists()
    assert AccessToken.objects.filter(pk=access_token.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_p5_a_lost_claim_writes_nothing_even_outside_a_transaction(user, application):
    # The row is gone (another request claimed it): nothing of the batch may be written. On
    # PostgreSQL the batch is one statement sent in autocommit mode, every write conditional on
    # the claim; elsewhere the claim comes first and raises before any write.
    grant = _grant(user, application, "h" * 64)
    Grant.objects.filter(pk=grant.pk).delete()
    before = (IDToken.objects.count(), AccessToken.objects.count(), AuditEvent.objects.count())
    batch = RowBatch()
    batch.claim(Grant, grant.pk, otherwise=Lost)
    context, id_token, access_token, *_ = _token_rows(user, application, batch)
    assert not connection.in_atomic_block
    with pytest.raises(Lost):
        batch.flush()
    assert (IDToken.objects.count(), AccessToken.objects.count(), AuditEvent.objects.count()) == before
    assert not RedeemedCode.objects.exists()
    context.refresh_from_db()
    assert context.id_token_id is None and context.code_digest == "d" * 64
    assert id_token.pk is None and access_token.pk is None


def test_a_batch_claims_one_row_at_most(user, application):
    batch = RowBatch()
    batch.claim(Grant, 1, otherwise=Lost)
    with pytest.raises(ValueError):
        batch.claim(Grant, 2, otherwise=Lost)


def test_a_foreign_receiver_means_more_than_one_statement(user, application):
    batch = RowBatch()
    _token_rows(user, application, batch)
    post_save.connect(lambda **kw: None, sender=AccessToken, weak=False, dispatch_uid="test-row-batch-2")
    try:
        assert batch.writes_one_statement() is False
    finally:
        post_save.disconnect(sender=AccessToken, dispatch_uid="test-row-batch-2")
    assert batch.writes_one_statement() is ONE_STATEMENT


def test_pk_of_an_existing_row_is_its_primary_key(user, application):
    existing = AccessToken(user=user, application=application, expires=timezone.now(), scope="openid")
    set_token_value(existing, "existing-value")
    existing.save()
    batch = RowBatch()
    redemption = batch.insert(
        RedeemedCode(code_hash="f" * 64, application=application, user=user, expires=timezone.now()),
        pk_of={"access_token_id": existing},
    )
    batch.flush()
    assert RedeemedCode.objects.get(pk=redemption.pk).access_token_id == existing.pk
