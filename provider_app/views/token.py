"""The token endpoint (RFC 6749 3.2): DOT's view, without a lookup nobody needs."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.signals import app_authorized


class TokenView(dot_views.TokenView):
    """DOT's ``TokenView``. After every successful response DOT reads the new access token back
    from the database to send ``app_authorized``; this view does that only when a receiver is
    connected, which saves one query per token response otherwise."""

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        if app_authorized.has_listeners(type(self)):
            return super().authorization_flow_token_response(request, *args, **kwargs)
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response
