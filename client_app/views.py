"""client_app's pages. Thin: each parses the request, calls one function of ``internal``, renders.

Every class has ``template_name`` (and the like) a project may override; all templates extend
``client_app/base.html``.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.generic import TemplateView, View

from client_app.adapter import get_adapter
from client_app.app_settings import app_settings
from client_app.exceptions import ClientAppError, LoginRefused, ProviderError
from client_app.internal import authorization, backchannel_logout, callback, login, logout
from client_app.internal.profile import linked_profiles
from client_app.internal.session import SESSION_PROVIDER_KEY, safe_next, session_binding
from client_app.models import PendingLogin, Provider, SocialAccount, TokenSet
from client_app.signals import login_failed

logger = logging.getLogger("client_app")


def client_page_headers(view):
    """Referrer-Policy for client_app's pages (``CLIENT_APP_REFERRER_POLICY``, ``same-origin``):
    nothing leaks to other origins, but same-origin POSTs keep their ``Origin`` header, which
    browsers replace by ``null`` under ``no-referrer`` and Django's CSRF check then refuses."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = app_settings.REFERRER_POLICY
        return response

    return wrapped


client_page = method_decorator(client_page_headers, name="dispatch")


class ClientLoginRequiredMixin(LoginRequiredMixin):
    """Anonymous visitors go to client_app's own login page."""

    def get_login_url(self) -> str:
        return reverse("client_app:login")


def render_error(request, error: ClientAppError, provider: Provider | None = None):
    """The error page: a clear message, the error code, never a token or a 500 (C9)."""
    status = 502 if isinstance(error, ProviderError) else 400
    context = {"error": error, "provider": provider}
    return TemplateResponse(request, "client_app/error.html", context, status=status)


@client_page
@method_decorator(never_cache, name="dispatch")
class LoginView(TemplateView):
    """The list of enabled providers, one POST button each (C11)."""

    template_name = "client_app/login.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            providers=Provider.objects.filter(enabled=True),
            next=safe_next(self.request, self.request.GET.get("next")),
            **kwargs,
        )


@client_page
@method_decorator(never_cache, name="dispatch")
class StartView(TemplateView):
    """GET shows a confirmation page; only a POST with a CSRF token starts the login (C11)."""

    template_name = "client_app/confirm.html"
    action = PendingLogin.ACTION_LOGIN

    def dispatch(self, request, *args, **kwargs):
        self.provider = get_object_or_404(Provider, slug=kwargs["slug"], enabled=True)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            provider=self.provider,
            action=self.action,
            next=safe_next(self.request, self.request.GET.get("next")),
        )

    def post(self, request, *args, **kwargs):
        redirect_uri = request.build_absolute_uri(reverse("client_app:callback", args=[self.provider.slug]))
        try:
            url = authorization.start(
                self.provider,
                redirect_uri=redirect_uri,
                session_binding=session_binding(request, create=True),
                next_url=safe_next(request, request.POST.get("next")),
                action=self.action,
                user=request.user if request.user.is_authenticated else None,
            )
        except ClientAppError as error:
            login_failed.send(sender=Provider, request=request, provider=self.provider, error=error)
            return render_error(request, error, self.provider)
        return HttpResponseRedirect(url)


@client_page
class ConnectView(ClientLoginRequiredMixin, StartView):
    """The explicit "connect" action: link another provider account to the signed-in user (C6)."""

    action = PendingLogin.ACTION_CONNECT


@client_page
@method_decorator(never_cache, name="dispatch")
class CallbackView(View):
    """The redirection endpoint (RFC 6749 3.1.2): ``<slug>/callback/``."""

    @method_decorator(sensitive_variables())
    def get(self, request, slug: str):
        provider = get_object_or_404(Provider, slug=slug)
        try:
            if not provider.enabled:  # C17: also for a login started before it was turned off
                raise LoginRefused("Signing in with this provider is turned off.", code="provider_disabled")
            identity = callback.handle(provider, request.GET.dict(), session_binding(request, create=False))
            login.complete(request, identity)
        except ClientAppError as error:
            logger.info("client_app: login with %s failed (%s)", provider.slug, error.code)
            login_failed.send(sender=Provider, request=request, provider=provider, error=error)
            return render_error(request, error, provider)
        if identity.action == PendingLogin.ACTION_CONNECT:
            # C17: sign-out still goes to the provider the user signed in with, not this one.
            return redirect("client_app:connections")
        request.session[SESSION_PROVIDER_KEY] = provider.slug
        # C7: checked when the login started and again here, against this request's host.
        return HttpResponseRedirect(
            safe_next(request, identity.next_url) or get_adapter().get_login_redirect_url(request)
        )


@client_page
@method_decorator(never_cache, name="dispatch")
class ConnectionsView(ClientLoginRequiredMixin, TemplateView):
    """The user's linked accounts, with disconnect and connect buttons."""

    template_name = "client_app/connections.html"

    def get_context_data(self, **kwargs):
        accounts = SocialAccount.objects.filter(user=self.request.user).select_related("provider")
        linked = {account.provider_id for account in accounts}
        return super().get_context_data(
            accounts=accounts,
            providers=Provider.objects.filter(enabled=True).exclude(pk__in=linked),
            **kwargs,
        )


@client_page
class DisconnectView(ClientLoginRequiredMixin, View):
    """POST: remove a link, unless it is the user's last way to log in."""

    def post(self, request, pk: int):
        account = get_object_or_404(SocialAccount, pk=pk, user=request.user)
        if not get_adapter().can_disconnect(request, account):
            error = LoginRefused(
                "This is your only way to sign in: set a password or connect another account first.",
                code="last_login_method",
            )
            return render_error(request, error, account.provider)
        if (
            not SocialAccount.objects.filter(user=request.user, provider=account.provider)
            .exclude(pk=pk)
            .exists()
        ):
            TokenSet.objects.filter(user=request.user, provider=account.provider).delete()
        account.delete()
        return redirect("client_app:connections")


@client_page
@method_decorator(never_cache, name="dispatch")
class ProfileView(ClientLoginRequiredMixin, TemplateView):
    """What the providers say about the signed-in user: the stored claims and a fresh UserInfo
    fetched with the stored (refreshed if needed) access token."""

    template_name = "client_app/profile.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(profiles=linked_profiles(self.request.user), **kwargs)


@client_page
@method_decorator(never_cache, name="dispatch")
class LogoutView(TemplateView):
    """GET asks for confirmation; POST logs out here, then maybe at the provider."""

    template_name = "client_app/logout.html"

    def post(self, request, *args, **kwargs):
        logged_out = request.build_absolute_uri(reverse("client_app:logged_out"))
        provider_url = logout.logout(request, logged_out)
        return HttpResponseRedirect(provider_url or app_settings.LOGOUT_REDIRECT_URL or logged_out)


@client_page
class LoggedOutView(TemplateView):
    """Where the provider sends the browser back after RP-initiated logout."""

    template_name = "client_app/logged_out.html"


@method_decorator(csrf_exempt, name="dispatch")
class BackChannelLogoutView(View):
    """OpenID Connect Back-Channel Logout 1.0: ``<slug>/backchannel-logout/``, where the provider
    posts a logout token (register it as the client's ``backchannel_logout_uri``). The one view
    exempt from CSRF (L6): the provider calls it server to server, without the browser's cookies,
    and the token's signature is what authenticates the request. 200 when accepted, 400 with an
    error otherwise (OIDC BCL 2.8), never cached."""

    http_method_names = ["post"]

    @method_decorator(sensitive_variables())
    def post(self, request, slug: str):
        try:
            backchannel_logout.receive(slug, request.POST.get("logout_token"))
        except ClientAppError as error:
            logger.info("client_app: logout token from %s refused (%s)", slug, error.message)
            body = {"error": "invalid_request", "error_description": error.message}
            return JsonResponse(body, status=400, headers={"Cache-Control": "no-store"})
        return HttpResponse(status=200, headers={"Cache-Control": "no-store"})
