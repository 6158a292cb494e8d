"""The OpenID Connect UserInfo endpoint, accepting the access token in the Authorization header only."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.compat import login_not_required
from oauth2_provider.views import UserInfoView as DOTUserInfoView


# Overriding dispatch drops the markers DOT put on its own dispatch: a POST from a relying party
# carries no CSRF cookie (it authenticates with the bearer token) and no session.
@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class UserInfoView(DOTUserInfoView):
    """DOT's UserInfo view (GET and POST, OIDC Core 5.3.1) without the URI and form-body token methods.

    oauthlib reads ``access_token`` from the query string and the form body too; a token in a URL
    leaks through logs and Referer headers (RFC 9700 4.3.2, RFC 6750 5.3), so such requests get the
    RFC 6750 3.1 ``invalid_request`` challenge even if they also carry a valid header.
    """

    def dispatch(self, request, *args, **kwargs):
        if "access_token" in request.GET or (request.method == "POST" and "access_token" in request.POST):
            response = HttpResponse(status=401)
            response["WWW-Authenticate"] = (
                'Bearer error="invalid_request", '
                'error_description="Send the access token in the Authorization header only."'
            )
            return response
        return super().dispatch(request, *args, **kwargs)
