"""Token families: everything issued from one authorization code, revoked together (P5, P8).

DOT gives every refresh token issued from a code a ``token_family`` UUID that rotation keeps
(RFC 9700 4.14.2). Revoking a family here revokes its refresh tokens, deletes every access token
bound to one of them or minted from one of them, and the ID tokens those access tokens carried.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import router, transaction
from django.db.models import Q
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model


def revoke_token_family(token_family: uuid.UUID | None, *, access_token_ids: Iterable[int] = ()) -> int:
    """Revoke a whole family (and the listed access tokens); returns how many access tokens died."""
    AccessToken = get_access_token_model()
    RefreshToken = get_refresh_token_model()
    access_token_ids = [pk for pk in access_token_ids if pk is not None]
    if not token_family and not access_token_ids:
        return 0
    with transaction.atomic(using=router.db_for_write(AccessToken)):
        doomed = Q(pk__in=access_token_ids)
        if token_family:
            family = RefreshToken.objects.filter(token_family=token_family)
            doomed |= Q(pk__in=family.values("access_token_id")) | Q(
                source_refresh_token_id__in=family.values("pk")
            )
        access_tokens = AccessToken.objects.filter(doomed)
        id_token_ids = [pk for pk in access_tokens.values_list("id_token_id", flat=True) if pk]
        doomed_ids = list(access_tokens.values_list("pk", flat=True))
        if token_family:
            # DOT's set-based revocation of the refresh tokens (and the access tokens they hold).
            RefreshToken.revoke_family(token_family)
        for refresh_token in RefreshToken.objects.filter(
            access_token_id__in=doomed_ids, revoked__isnull=True
        ):
            refresh_token.revoke()
        AccessToken.objects.filter(pk__in=doomed_ids).delete()
        get_id_token_model().objects.filter(pk__in=id_token_ids).delete()
    return len(doomed_ids)


def family_of_access_token(access_token) -> uuid.UUID | None:
    """The family of the refresh token issued with ``access_token``, if any."""
    refresh_token = get_refresh_token_model().objects.filter(access_token=access_token).first()
    return refresh_token.token_family if refresh_token is not None else None
