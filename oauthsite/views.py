"""The demo's pages: the home page that leads through the demo, and the client's profile page with
what the client fetched from the provider's ``/api/me`` and from the demo's services (issue 14): the
notes service, called with the user's token for it, which calls the files service by token exchange.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.shortcuts import render

from client_app.api import authorized_session, revoke_access_token
from client_app.exceptions import ClientAppError
from client_app.internal import http  # the bounded call every client_app request makes (C14)
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


def notes_audience() -> str:
    """The notes service's audience: the demo provider's first ``resources`` entry (seed_demo sets
    it to ``http://127.0.0.1:8001/``)."""
    provider = Provider.objects.filter(slug=demo.DEMO_PROVIDER_SLUG).first()
    resources = provider.resource_list if provider is not None else []
    return resources[0] if resources else demo.NOTES.audience


def _whoami_url(audience: str) -> str:
    return f"{audience.rstrip('/')}/api/whoami/"


def _hop(answer: dict, elapsed_ms: float) -> dict:
    """One row of the chain: what a service saw (services/views.py answers it)."""
    act = answer.get("act") or []
    return {
        "service": answer.get("service", "?"),
        "mode": answer.get("mode", "?"),
        "sub": answer.get("sub", ""),
        "aud": " ".join(answer.get("aud") or []),
        "scope": answer.get("scope", ""),
        "act": " > ".join(str(actor) for actor in act) if act else "none",
        "elapsed_ms": elapsed_ms,
    }


def _refusal(status: int, challenge: str) -> str:
    return f"refused: HTTP {status}" + (f" ({challenge})" if challenge else "")


def chain_rows(response, elapsed_ms: float) -> tuple[list[dict], list[dict]]:
    """The chain's rows from notes' answer, and ``{service, message}`` for each hop that refused."""
    if response.status_code != 200:
        challenge = response.headers.get("WWW-Authenticate", "")
        return [], [{"service": "notes", "message": _refusal(response.status_code, challenge)}]
    try:
        answer = response.json()
    except ValueError:
        return [], [{"service": "notes", "message": "answered with malformed JSON"}]
    rows, problems = [_hop(answer, elapsed_ms)], []
    following = answer.get("next")
    if isinstance(following, dict):
        if isinstance(following.get("answer"), dict):
            rows.append(_hop(following["answer"], following.get("elapsed_ms", "")))
        elif following.get("exchange_refused"):
            message = f"the provider refused notes' token exchange ({following['exchange_refused']})"
            problems.append({"service": "files", "message": message})
        elif following.get("unreachable"):
            message = f"not reachable from notes ({following['unreachable']})"
            problems.append({"service": "files", "message": message})
        else:
            message = _refusal(following.get("status", 0), following.get("refusal", ""))
            problems.append({"service": "files", "message": message})
    return rows, problems


#: How long the page waits for notes (JWT mode) to learn of a revocation: the provider pushes an
#: event to it (its task worker polls every 0.1 s in the demo), it takes well under a second.
REVOCATION_WAIT_SECONDS = 3.0


def _get_with(audience: str, token: str):
    """notes' answer to ``token``, read within client_app's total deadline and size cap (C14:
    ``CLIENT_APP_HTTP_DEADLINE``, ``CLIENT_APP_HTTP_MAX_RESPONSE_BYTES``) as every call client_app
    makes; a service that trickles or floods its answer is a :class:`ClientAppError`."""
    return http.call(
        "GET", _whoami_url(audience), what="the notes service", headers={"Authorization": f"Bearer {token}"}
    )


def _until_refused(audience: str, token: str, revoked_at: float) -> float | None:
    """Milliseconds from the revocation to notes' first refusal of ``token`` (None: not within
    :data:`REVOCATION_WAIT_SECONDS`)."""
    while time.monotonic() - revoked_at < REVOCATION_WAIT_SECONDS:
        time.sleep(0.05)
        try:
            if _get_with(audience, token).status_code == 401:
                return round((time.monotonic() - revoked_at) * 1000, 1)
        except ClientAppError:
            return None
    return None


def _service_down(audience: str) -> str:
    return (
        f"The notes service does not answer at {audience}. Start the demo with its services: "
        "python dev.py demo (or run the services alone as README's demo section shows)."
    )


class DemoProfileView(ProfileView):
    """client_app's profile page plus ``GET <provider>/api/me`` made with the stored access token
    (refreshed first when it is about to expire), through ``client_app.api``; the chain of the demo's
    services called with the user's token for notes (``authorized_session(..., resource=...)``); and
    a button that revokes that token at the provider and calls the chain again with it at once."""

    template_name = "oauthsite/demo_profile.html"

    def post(self, request, *args, **kwargs):
        # CSRF-protected (Django's middleware); only the signed-in user's own kept token is revoked.
        audience = notes_audience()
        revocation: dict = {}
        try:
            token = revoke_access_token(request.user, demo.DEMO_PROVIDER_SLUG, audience)
        except ClientAppError as error:
            revocation["error"] = error.message
        else:
            revoked_at = time.monotonic()
            if not token:
                revocation["error"] = "There is no notes token to revoke: load the page first."
            else:
                revocation.update(self._call_after_revocation(audience, token, revoked_at))
        context = self.get_context_data(revocation=revocation, skip_calls=True, **kwargs)
        return self.render_to_response(context)

    @staticmethod
    def _call_after_revocation(audience: str, token: str, revoked_at: float) -> dict:
        """The chain called at once with the revoked token itself (not a new one): what each
        service says, and how long after the revocation it answered; then notes (JWT mode) asked
        again until it refuses too, once the provider's revocation event reached it (E1, E3)."""
        try:
            response = _get_with(audience, token)
        except ClientAppError:
            return {"error": _service_down(audience)}
        elapsed_ms = round((time.monotonic() - revoked_at) * 1000, 1)
        rows, problems = chain_rows(response, elapsed_ms)
        result = {"rows": rows, "problems": problems, "elapsed_ms": elapsed_ms}
        if response.status_code == 200:
            result["jwt_refused_ms"] = _until_refused(audience, token, revoked_at)
            result["jwt_wait_seconds"] = REVOCATION_WAIT_SECONDS
        elif response.status_code == 401:
            # The provider's revocation event reached notes before this first call (its task
            # worker was quicker than the page): notes refused at once, files was not called.
            result["jwt_refused_ms"] = elapsed_ms
        return result

    def get_context_data(self, skip_calls: bool = False, **kwargs):
        context = super().get_context_data(**kwargs)
        context["chain_url"] = _whoami_url(notes_audience())
        if skip_calls:
            return context
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
        # After /api/me: the refresh that gets the notes token is the last one, so the token
        # shown (and revoked by the button) is the live one (a refresh revokes the previous pair).
        context.update(self._chain(notes_audience()))
        return context

    def _chain(self, audience: str) -> dict:
        """notes (and files through it) called with the user's token for notes."""
        started = time.monotonic()
        try:
            session = authorized_session(self.request.user, demo.DEMO_PROVIDER_SLUG, resource=audience)
            response = session.get(_whoami_url(audience))
        except ClientAppError as error:  # no sign-in, no resources configured, provider refused
            return {"chain_error": error.message}
        except requests.RequestException:
            return {"chain_error": _service_down(audience)}
        rows, problems = chain_rows(response, round((time.monotonic() - started) * 1000, 1))
        return {"chain_rows": rows, "chain_problems": problems}
