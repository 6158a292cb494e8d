"""provider_app's signals: what happened at the provider, for receivers to act on.

Sent by the validator and the views; the audit log is one receiver (:mod:`provider_app.audit`,
connected in ``ProviderAppConfig.ready()``), and a project may connect its own (an alert, a
notification to the user). Every signal is sent with ``sender`` (the class that detected it) and
``request`` (a Django request, or for the token endpoint an object whose ``META`` holds the client's
``REMOTE_ADDR`` and ``HTTP_USER_AGENT``).
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

logger = logging.getLogger("provider_app")

#: An authorization code came back after it was redeemed (RFC 6749 4.1.2); everything issued from it
#: has been revoked. Arguments: ``request``, ``redemption`` (a ``RedeemedCode``: ``user``,
#: ``application``), ``revoked_access_token_count``.
code_replayed = Signal()

#: A rotated refresh token was used again (RFC 9700 4.14.2); its whole family has been revoked.
#: Arguments: ``request``, ``refresh_token``, ``revoked_access_token_count``.
refresh_token_reused = Signal()

#: Access was taken back from a client: by the client itself (RFC 7009 revocation, ``by="client"``,
#: ``token_type_hint``), or by the user on the connected-apps page (``by="user"``; the consent is
#: forgotten, ``revoked_access_token_count`` tokens revoked). Arguments: ``request``, ``application``,
#: ``by``.
access_revoked = Signal()


def announce(signal: Signal, sender, **kwargs) -> None:
    """Send ``signal`` to every receiver, even when one of them fails: the provider has already
    acted (tokens revoked), and a receiver's error must neither undo that nor become a 500. The
    failure is logged with its traceback."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("provider_app: signal receiver %r failed", receiver, exc_info=result)
