"""The two-factor pages: the second step of login (and step-up), enrolment, self-service.

Views stay thin; the work is in :mod:`.devices`, :mod:`.recovery` and :mod:`.session`. Every page
sends the authentication-page headers (``auth_page``, P10) and is never cached.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

import django_otp
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app import audit
from provider_app.internal import backchannel_logout, known_devices
from provider_app.internal.http import auth_page
from provider_app.internal.login import ONE_TIME_PASSWORD, add_method
from provider_app.two_factor import devices, qr
from provider_app.two_factor.forms import CodeForm, EnrolForm, PasswordForm
from provider_app.two_factor.recovery import issue_recovery_codes, remaining_recovery_codes
from provider_app.two_factor.session import (
    end_second_factor,
    is_recently_authenticated,
    mark_reauthenticated,
    pending_login,
)

# Codes and passwords never appear in error reports.
sensitive = method_decorator(sensitive_post_parameters("code", "password"), name="dispatch")


def safe_next(request: HttpRequest, candidate: str | None, default: str = "/") -> str:
    """``candidate`` if it stays on this site (same host, same scheme rules as Django's LoginView)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _throttle_message(verification: devices.Verification) -> str:
    if verification.busy:
        return "The code could not be checked just now. Please try again."
    if verification.throttled_until is None:
        return "That code is not right. Please try again."
    wait = max(1, math.ceil((verification.throttled_until - timezone.now()).total_seconds()))
    return f"Too many wrong codes. Please wait {wait} seconds before trying again."


class RecentAuthenticationRequiredMixin(LoginRequiredMixin):
    """Self-service changes need a sign-in or re-authentication within the recent window."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_recently_authenticated(request):
            return redirect(_with_next("provider_app:two_factor_reauthenticate", request.get_full_path()))
        return super().dispatch(request, *args, **kwargs)


@auth_page
@sensitive
class SecondFactorView(View):
    """The second step: after the password step (a pending login) or as a step-up of a session.

    Only a signed, expiring marker with the user id is in the session between the steps (P21).
    """

    template_name = "provider_app/two_factor/verify.html"

    def _target(self, request):
        pending = pending_login(request)
        if pending is not None:
            user = get_user_model()._default_manager.filter(pk=pending.user_id, is_active=True).first()
            return user, pending
        if request.user.is_authenticated and devices.has_two_factor(request.user):
            return request.user, None
        return None, None

    def get(self, request):
        user, pending = self._target(request)
        if user is None:
            return self._expired(request)
        return self._render(request, CodeForm(), pending)

    def post(self, request):
        user, pending = self._target(request)
        if user is None:
            return self._expired(request)
        form = CodeForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, pending)
        verification = devices.verify_second_factor(user, form.cleaned_data["code"])
        if not verification.ok:
            audit.record(
                audit.TWO_FACTOR_FAILED,
                request=request,
                user=user,
                throttled=verification.throttled_until is not None,
            )
            form.add_error("code", _throttle_message(verification))
            return self._render(request, form, pending)
        if pending is not None:
            end_second_factor(request)
            backchannel_logout.another_user_signs_in(request, user)  # L3: the previous session ends
            auth_login(request, user, backend=pending.backend or None)
            next_url = pending.next_url
        else:
            next_url = request.GET.get("next") or request.POST.get("next")
        django_otp.login(request, verification.device)
        add_method(request, user, ONE_TIME_PASSWORD)
        audit.record(
            audit.TWO_FACTOR_VERIFIED,
            request=request,
            user=user,
            device_type=verification.device.model_label(),
        )
        response = HttpResponseRedirect(safe_next(request, next_url))
        if pending is not None:  # a sign-in completed: this browser is a known device (P20)
            known_devices.remember(request, response, user)
        return response

    def _render(self, request, form, pending) -> HttpResponse:
        context = {"form": form, "step_up": pending is None, "next": request.GET.get("next", "")}
        return render(request, self.template_name, context)

    def _expired(self, request) -> HttpResponse:
        end_second_factor(request)
        messages.info(request, "Your sign-in expired. Please enter your password again.")
        return redirect("provider_app:login")


@auth_page
@sensitive
class ReauthenticateView(LoginRequiredMixin, View):
    """Confirm it is still you: the password, or a code from the authenticator app."""

    template_name = "provider_app/two_factor/reauthenticate.html"

    def get(self, request):
        return self._render(request, PasswordForm(request=request), CodeForm())

    def post(self, request):
        password_form, code_form = PasswordForm(request=request), CodeForm()
        if "password" in request.POST:
            password_form = PasswordForm(request.POST, request=request)
            ok = password_form.is_valid()
        else:
            code_form = CodeForm(request.POST)
            ok = False
            if code_form.is_valid():
                verification = devices.verify_second_factor(request.user, code_form.cleaned_data["code"])
                ok = verification.ok
                if not ok:
                    code_form.add_error("code", _throttle_message(verification))
        if not ok:
            return self._render(request, password_form, code_form)
        mark_reauthenticated(request)
        audit.record(audit.TWO_FACTOR_REAUTHENTICATED, request=request)
        return HttpResponseRedirect(
            safe_next(request, request.GET.get("next"), reverse("provider_app:two_factor"))
        )

    def _render(self, request, password_form, code_form) -> HttpResponse:
        context = {
            "password_form": password_form,
            "code_form": code_form,
            "has_two_factor": devices.has_two_factor(request.user),
        }
        return render(request, self.template_name, context)


@auth_page
class OverviewView(LoginRequiredMixin, View):
    """The user's authenticator apps and how many recovery codes are left."""

    template_name = "provider_app/two_factor/overview.html"

    def get(self, request):
        context = {
            "devices": devices.confirmed_totp_devices(request.user).order_by("created_at", "pk"),
            "recovery_codes_left": remaining_recovery_codes(request.user),
        }
        return render(request, self.template_name, context)


@auth_page
@sensitive
class SetupView(RecentAuthenticationRequiredMixin, View):
    """Enrolment: a QR code and the secret as text; the device counts only once a code confirms it."""

    template_name = "provider_app/two_factor/setup.html"
    codes_template = "provider_app/two_factor/recovery_codes.html"

    def _device(self, request) -> TOTPDevice:
        device_id = request.POST.get("device") if request.method == "POST" else None
        queryset = TOTPDevice.objects.filter(user=request.user, confirmed=False)
        device = queryset.filter(pk=device_id).first() if device_id else None
        return device or devices.unconfirmed_device(request.user)

    def get(self, request):
        return self._render(request, EnrolForm(), self._device(request))

    def post(self, request):
        device = self._device(request)
        form = EnrolForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, device)
        verification = devices.verify_totp(
            request.user, form.cleaned_data["code"], confirmed=False, device_id=device.pk
        )
        if not verification.ok:
            form.add_error("code", _throttle_message(verification))
            return self._render(request, form, device)
        device.refresh_from_db()
        device.name, device.confirmed = form.cleaned_data["name"], True
        device.save(update_fields=["name", "confirmed"])
        # Typing the code just now proves possession of the device: the session is two-factor.
        django_otp.login(request, device)
        add_method(request, request.user, ONE_TIME_PASSWORD)
        audit.record(audit.TWO_FACTOR_DEVICE_ADDED, request=request, device_id=device.pk)
        next_url = safe_next(request, request.GET.get("next"), reverse("provider_app:two_factor"))
        if remaining_recovery_codes(request.user):
            return HttpResponseRedirect(next_url)
        codes = issue_recovery_codes(request.user)
        audit.record(audit.TWO_FACTOR_RECOVERY_CODES_ISSUED, request=request, code_count=len(codes))
        return render(request, self.codes_template, {"codes": codes, "next": next_url})

    def _render(self, request, form, device) -> HttpResponse:
        context = {
            "form": form,
            "device": device,
            "qr_svg": qr.svg(device),
            "secret": qr.secret_text(device),
        }
        return render(request, self.template_name, context)


@auth_page
class RemoveDeviceView(RecentAuthenticationRequiredMixin, View):
    """Remove one authenticator app (POST); removing the last one turns two-factor off."""

    template_name = "provider_app/two_factor/remove_device.html"

    def _device(self, request, pk):
        return get_object_or_404(TOTPDevice, pk=pk, user=request.user, confirmed=True)

    def get(self, request, pk):
        return render(request, self.template_name, {"device": self._device(request, pk)})

    def post(self, request, pk):
        device = self._device(request, pk)
        device_id = device.pk
        devices.remove_device(device)
        audit.record(audit.TWO_FACTOR_DEVICE_REMOVED, request=request, device_id=device_id, by="user")
        messages.success(request, "The authenticator app was removed.")
        return redirect("provider_app:two_factor")


@auth_page
class RecoveryCodesView(RecentAuthenticationRequiredMixin, View):
    """New recovery codes on request (POST), shown once; the old ones stop working."""

    template_name = "provider_app/two_factor/regenerate_codes.html"
    codes_template = "provider_app/two_factor/recovery_codes.html"

    def get(self, request):
        if not devices.has_two_factor(request.user):
            return redirect("provider_app:two_factor")
        context = {"recovery_codes_left": remaining_recovery_codes(request.user)}
        return render(request, self.template_name, context)

    def post(self, request):
        if not devices.has_two_factor(request.user):
            return redirect("provider_app:two_factor")
        codes = issue_recovery_codes(request.user)
        audit.record(audit.TWO_FACTOR_RECOVERY_CODES_ISSUED, request=request, code_count=len(codes))
        context = {"codes": codes, "next": reverse("provider_app:two_factor")}
        return render(request, self.codes_template, context)
