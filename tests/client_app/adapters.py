"""Adapters used by the tests to prove the hooks are called."""

from __future__ import annotations

from client_app.adapter import DefaultAdapter
from client_app.exceptions import LoginRefused


class NoBobAdapter(DefaultAdapter):
    def is_open_for_signup(self, request, provider, claims):
        if claims.get("preferred_username") == "bob":
            raise LoginRefused("No Bob here.", code="no_bob")
        return super().is_open_for_signup(request, provider, claims)


class UpperCaseAdapter(DefaultAdapter):
    def populate_user(self, request, user, provider, claims):
        super().populate_user(request, user, provider, claims)
        user.first_name = str(claims.get("preferred_username", "")).upper()


class NoLoginAdapter(DefaultAdapter):
    def pre_login(self, request, user, provider, claims):
        raise LoginRefused("Not today.", code="not_today")


class VerifiesLocalEmailsAdapter(DefaultAdapter):
    """A site that confirmed every local user's address itself (say by a confirmation e-mail)."""

    def user_email_is_verified(self, request, user, email):
        return True
