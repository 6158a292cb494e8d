"""``ProviderSessionMiddleware``: keeps back-channel logout able to find a session whose key changes
after the login (Django changes it on a password change, ``update_session_auth_hash``, and on every
``login()``). Place it after ``SessionMiddleware``::

    MIDDLEWARE = [..., "django.contrib.sessions.middleware.SessionMiddleware", ...,
                  "client_app.middleware.ProviderSessionMiddleware", ...]
"""

from __future__ import annotations

from client_app.internal.backchannel_logout import follow_key_change


class ProviderSessionMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        follow_key_change(request)  # before SessionMiddleware saves the session (it runs after us)
        return response
