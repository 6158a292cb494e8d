"""Signals that announce what happened; the adapter decides what happens (allauth's split).

``login_completed(sender=Provider, request, user, provider, account, created)``: a user logged in
(or connected an account); ``created`` is True when the local user was made by this login.
``login_failed(sender=Provider, request, provider, error)``: a login ended on the error page;
``error`` is a :class:`client_app.exceptions.ClientAppError` (its ``code`` says why).
``tokens_refreshed(sender=Provider, user, provider)``: a token set was refreshed.
``logged_out_by_provider(sender=Provider, provider, sub, sid, sessions_ended)``: a back-channel
logout token ended the local sessions of that provider session (``sid``) or subject (``sub``).
"""

from __future__ import annotations

from django.dispatch import Signal

login_completed = Signal()
login_failed = Signal()
tokens_refreshed = Signal()
logged_out_by_provider = Signal()
