"""The accounts, client and tokens the fuzzer uses as real credentials."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, set_token_value

from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import basic_auth

REDIRECT_URI = "https://client.example.com/callback"


def make_fuzz_data(base_url: str) -> SimpleNamespace:
    user = UserFactory()
    application = ApplicationFactory(redirect_uris=REDIRECT_URI)
    access_token = "fuzz-" + "A" * 40
    token = get_access_token_model()(
        user=user,
        application=application,
        scope="openid profile email",
        expires=timezone.now() + timedelta(hours=1),
    )
    set_token_value(token, access_token)
    token.save()
    client_headers = {"Authorization": basic_auth(application.client_id, application.raw_secret)}
    bearer_headers = {"Authorization": f"Bearer {access_token}"}

    def credentials_for(path: str) -> dict[str, str]:
        return bearer_headers if path in ("/o/userinfo/", "/api/me") else client_headers

    return SimpleNamespace(
        base_url=base_url,
        user=user,
        application=application,
        credentials_for=credentials_for,
        requests_sent=0,
        # P1/P2: a redirect goes back to the registered URI exactly, or to the login page.
        authorization_redirects=(f"{REDIRECT_URI}?", "/account/login/"),
    )
