"""The adapter: every decision client_app makes about local users, in one overridable class.

Point ``CLIENT_APP_ADAPTER`` at a subclass of :class:`DefaultAdapter` to change sign-up, how
claims become user fields, who may log in, and where the user lands. Signals announce what
happened; the adapter decides what happens.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string

from client_app.app_settings import app_settings
from client_app.exceptions import LoginRefused


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
        base = (
            re.sub(r"[^\w.@+-]", "", str(candidate))[: (field.max_length or 150) - 6]
            or f"{provider.slug}-user"
        )
        username, counter = base, 1
        while user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).exists():
            counter += 1
            username = f"{base}{counter}"
        return username

    def save_user(self, request, user, provider, claims: dict[str, Any]):
        """Save a new user. It gets no usable password: it logs in through the provider."""
        user.set_unusable_password()
        user.save()
        return user

    def find_user_by_verified_email(self, request, provider, claims: dict[str, Any]):
        """C6: the existing user a first login may link to by e-mail, or None.

        Only with ``CLIENT_APP_LINK_BY_VERIFIED_EMAIL``, a provider marked ``trust_email_verified``,
        ``email_verified`` exactly ``true``, and exactly one local user with that address.
        """
        email = claims.get("email")
        if not (app_settings.LINK_BY_VERIFIED_EMAIL and provider.trust_email_verified):
            return None
        if claims.get("email_verified") is not True or not isinstance(email, str) or "@" not in email:
            return None
        users = list(get_user_model()._default_manager.filter(email__iexact=email)[:2])
        return users[0] if len(users) == 1 else None

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
