"""From a validated identity to a logged-in user: link by (issuer, sub), sign up, connect (C6)."""

from __future__ import annotations

from django.contrib.auth import login as django_login
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from client_app.adapter import get_adapter
from client_app.app_settings import app_settings
from client_app.exceptions import LoginRefused
from client_app.internal import backchannel_logout, token_store
from client_app.internal.callback import Identity
from client_app.models import PendingLogin, SocialAccount
from client_app.signals import login_completed


@sensitive_variables()
def complete(request, identity: Identity) -> SocialAccount:
    """Link or create the user, store the tokens, log the user in; returns the account link."""
    adapter = get_adapter()
    provider = identity.provider
    # One transaction: a refusal by pre_login leaves no new user, link or tokens behind.
    with transaction.atomic():
        if identity.action == PendingLogin.ACTION_CONNECT:
            account, created = _connect(request, identity), False
        else:
            account, created = _find_or_sign_up(request, identity, adapter)
        adapter.pre_login(request, account.user, provider, identity.claims)
        account.claims = identity.claims
        account.last_login = timezone.now()
        account.save(update_fields=["claims", "last_login"])
        token_store.save(account.user, provider, identity.token_response)
    old_key = request.session.session_key
    same_user = request.user.is_authenticated and request.user.pk == account.user_id
    if same_user:
        # Connecting to the signed-in user: a new session key anyway (session fixation).
        request.session.cycle_key()
    else:
        django_login(request, account.user, backend=app_settings.AUTHENTICATION_BACKEND)
    backchannel_logout.session_key_changed(old_key, request.session.session_key, same_user=same_user)
    if identity.action != PendingLogin.ACTION_CONNECT:
        # OIDC BCL 2.7: what a logout token for this provider session (sid) or subject ends.
        backchannel_logout.record_session(
            request, provider, identity.sub, identity.id_token_claims.get("sid")
        )
    login_completed.send(
        sender=type(provider),
        request=request,
        user=account.user,
        provider=provider,
        account=account,
        created=created,
    )
    return account


def _existing(identity: Identity) -> SocialAccount | None:
    return (
        SocialAccount.objects.select_related("user")
        .filter(issuer=identity.provider.issuer, sub=identity.sub)
        .first()
    )


def _connect(request, identity: Identity) -> SocialAccount:
    """An explicit "connect" by a signed-in user: the link goes to the user who started it."""
    user = request.user
    if not user.is_authenticated or user.pk != identity.connect_user_id:
        raise LoginRefused("Sign in again before connecting an account.", code="connect_user_changed")
    account = _existing(identity)
    if account is not None and account.user_id != user.pk:
        raise LoginRefused(
            "This account at the provider is already linked to another user.", code="already_linked"
        )
    return account or _link(user, identity)


def _find_or_sign_up(request, identity: Identity, adapter) -> tuple[SocialAccount, bool]:
    account = _existing(identity)
    if account is not None:
        return account, False
    provider, claims = identity.provider, identity.claims
    user = adapter.find_user_by_verified_email(request, provider, claims)
    if user is not None:
        return _link(user, identity), False
    if not adapter.is_open_for_signup(request, provider, claims):
        raise LoginRefused("Signing up with this provider is closed.", code="signup_closed")
    with transaction.atomic():
        user = adapter.new_user(request, provider, claims)
        adapter.populate_user(request, user, provider, claims)
        user = adapter.save_user(request, user, provider, claims)
        return _link(user, identity), True


def _link(user, identity: Identity) -> SocialAccount:
    try:
        with transaction.atomic():
            return SocialAccount.objects.create(
                user=user, provider=identity.provider, issuer=identity.provider.issuer, sub=identity.sub
            )
    except IntegrityError:
        # Two first logins of the same identity at once: the other one linked it first.
        raise LoginRefused(
            "This account was linked a moment ago: please sign in again.", code="already_linked"
        )
