"""The demo's pages: the home page that leads through the demo, and the client's profile page with
what the client fetched from the provider's ``/api/me``."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.shortcuts import render

from client_app.api import authorized_session
from client_app.exceptions import ClientAppError
from client_app.models import Provider
from client_app.views import ProfileView
from oauthsite import demo


def demo_origins() -> tuple[str, str]:
    """(provider origin, client origin): the registered demo issuer's origin, and the same server
    under the client's host name (127.0.0.1 instead of localhost, as in the demo)."""
    provider = Provider.objects.filter(slug=demo.DEMO_PROVIDER_SLUG).first()
    issuer = urlsplit(provider.issuer if provider is not None else demo.DEMO_ISSUER)
    client_netloc = issuer.netloc.replace(
        "localhost", urlsplit(demo.DEMO_CLIENT_ORIGIN).hostname or "127.0.0.1"
    )
    return f"{issuer.scheme}://{issuer.netloc}", f"{issuer.scheme}://{client_netloc}"


def home(request):
    provider_origin, client_origin = demo_origins()
    context = {
        "demo": getattr(settings, "DEMO", False),
        "provider_origin": provider_origin,
        "client_origin": client_origin,
        "on_client": request.get_host() == urlsplit(client_origin).netloc,
    }
    return render(request, "oauthsite/home.html", context)


def demo_api_me_url() -> str:
    """``/api/me`` on the origin of the registered demo provider's issuer (the provider hosts both)."""
    return f"{demo_origins()[0]}/api/me"


class DemoProfileView(ProfileView):
    """client_app's profile page plus ``GET <provider>/api/me`` made with the stored access token
    (refreshed first when it is about to expire), through ``client_app.api``."""

    template_name = "oauthsite/demo_profile.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_me_url"] = demo_api_me_url()
        try:
            response = authorized_session(self.request.user, demo.DEMO_PROVIDER_SLUG).get(
                context["api_me_url"]
            )
            if response.status_code == 200:
                context["api_me"] = response.json()
            else:
                context["api_me_error"] = f"The API answered HTTP {response.status_code}."
        except ClientAppError as error:  # not signed in with the demo provider, or it is unreachable
            context["api_me_error"] = error.message
        except ValueError:
            context["api_me_error"] = "The API answered with malformed JSON."
        except OSError:
            context["api_me_error"] = "The API could not be reached."
        return context
