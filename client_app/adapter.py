"""The adapter: every decision client_app makes about local users, in one overridable class.

Point ``CLIENT_APP_ADAPTER`` at a subclass of :class:`DefaultAdapter` to change sign-up, how
claims become user fields, who may log in, and where the user lands. Signals announce what
happened; the adapter decides what happens.
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string

from client_app.app_settings import app_settings
from client_app.exceptions import LoginRefused

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalise_email(value: Any) -> str | None:
    """C12: the form in which two addresses are compared, exactly: surrounding blanks removed and
    ASCII letters lower-cased, nothing else (no Unicode case folding: ``gıthub.com`` with a dotless
    ı stays different from ``github.com``). None for anything that is not ``local@domain``."""
    if not isinstance(value, str):
        return None
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    return f"{local}@{domain}".translate(_ASCII_LOWER)


class DefaultAdapter:
    """Sensible defaults; each method is a hook a subclass may override."""

    def is_open_for_signup(self, request, provider, claims: dict[str, Any]) -> bool:
        """Whether a first login with ``provider`` may create a local user (``CLIENT_APP_SIGNUP_ENABLED``)."""
        return app_settings.SIGNUP_ENABLED

    def new_user(self, request, provider, claims: dict[str, Any]):
        """An unsaved instance of the user model."""
        return get_user_model()()

    def populate_user(self, request, user, provider, claims: dict[str, Any]) -> None:
        """Copy claims (OIDC Core 5.1) onto a new user: username, names and e-mail.

        The e-mail is copied as information only; it never links accounts by itself (C6).
        """
        user_model = type(user)
        setattr(user, user_model.USERNAME_FIELD, self.generate_username(provider, claims))
        for field, claim in (("first_name", "given_name"), ("last_name", "family_name"), ("email", "email")):
            value = claims.get(claim)
            if isinstance(value, str) and hasattr(user, field):
                max_length = user_model._meta.get_field(field).max_length or len(value)
                setattr(user, field, value[:max_length])

    def generate_username(self, provider, claims: dict[str, Any]) -> str:
        """A free username from ``preferred_username`` (or the e-mail's local part), else ``<slug>-user``."""
        user_model = get_user_model()
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        candidate = claims.get("preferred_username") or str(claims.get("email") or "").split("@")[0]
        # C17: NFKC first, as Django's AbstractBaseUser.normalize_username does for its own forms, so
        # that "ａｄｍｉｎ" (full-width) becomes "admin" and collides, instead of living beside it.
        candidate = unicodedata.normalize("NFKC", str(candidate))
        base = re.sub(r"[^\w.@+-]", "", candidate)[: (field.max_length or 150) - 6] or f"{provider.slug}-user"
        username, counter = base, 1
        # A name that differs only in case is taken too ("Admin" beside "admin").
        taken = f"{user_model.USERNAME_FIELD}__iexact"
        while user_model._default_manager.filter(**{taken: username}).exists():
            counter += 1
            username = f"{base}{counter}"
        return username

    def save_user(self, request, user, provider, claims: dict[str, Any]):
        """Save a new user. It gets no usable password: it logs in through the provider."""
        user.set_unusable_password()
        user.save()
        return user

    def find_user_by_verified_email(self, request, provider, claims: dict[str, Any]):
        """C6, C12: the existing user a first login may link to by e-mail, or None.

        Only with ``CLIENT_APP_LINK_BY_VERIFIED_EMAIL``, a provider marked ``trust_email_verified``,
        ``email_verified`` exactly ``true``, exactly one local user with that address compared
        exactly after :func:`normalise_email` (the database's case-insensitive match, which folds
        Unicode on PostgreSQL, only narrows the candidates), and that user's own address known to be
        verified (:meth:`user_email_is_verified`): an address someone merely typed, or copied from an
        unverified claim, never attracts another person's login (pre-account hijacking).
        """
        if not (app_settings.LINK_BY_VERIFIED_EMAIL and provider.trust_email_verified):
            return None
        email = normalise_email(claims.get("email"))
        if claims.get("email_verified") is not True or email is None:
            return None
        user_model = get_user_model()
        field = user_model.get_email_field_name()
        narrowed = user_model._default_manager.filter(**{f"{field}__iexact": claims["email"].strip()})[:50]
        users = [user for user in narrowed if normalise_email(getattr(user, field, None)) == email]
        if len(users) != 1 or not self.user_email_is_verified(request, users[0], email):
            return None
        return users[0]

    def user_email_is_verified(self, request, user, email: str) -> bool:
        """C12: whether ``user`` is known to own ``email`` (already normalised).

        By default: one of the user's linked accounts is at a provider marked
        ``trust_email_verified`` whose last claims said ``email_verified: true`` for that address.
        A site that verifies addresses itself (a confirmation e-mail, allauth's ``EmailAddress``)
        overrides this to ask its own records.
        """
        for account in user.social_accounts.select_related("provider"):
            claims = account.claims or {}
            if (
                account.provider.trust_email_verified
                and claims.get("email_verified") is True
                and normalise_email(claims.get("email")) == email
            ):
                return True
        return False

    def pre_login(self, request, user, provider, claims: dict[str, Any]) -> None:
        """Last check before the user is logged in; raise :class:`LoginRefused` to stop it."""
        if not user.is_active:
            raise LoginRefused("This account is disabled.", code="inactive_user")

    def get_login_redirect_url(self, request) -> str:
        """Where to go after login when the request named no safe ``next``."""
        return app_settings.LOGIN_REDIRECT_URL

    def can_disconnect(self, request, account) -> bool:
        """C6 companion: refuse to remove the last way the user can log in."""
        user = account.user
        if user.has_usable_password():
            return True
        return user.social_accounts.exclude(pk=account.pk).exists()


def get_adapter() -> DefaultAdapter:
    """An instance of the class named by ``CLIENT_APP_ADAPTER``."""
    return import_string(app_settings.ADAPTER)()
