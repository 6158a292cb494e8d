"""Admin for clients: a generated secret shown exactly once, rotation, and token revocation.

DOT's own admin classes stay for tokens (they mask credentials and revoke through one path); the
application admin is replaced so that no secret, hashed or not, is ever displayed after creation.

Admin for the audit log: a read-only list with filters by event, date, client and user.

Admin for the outbox and the sessions' clients: deliveries to see and retry, sessions to end (E6, L3).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from oauth2_provider import admin as dot_admin
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)

from provider_app import audit
from provider_app.internal import backchannel_logout, outbox, tokens
from provider_app.internal.clients import (
    generate_client_secret,
    is_backchannel_logout_uri_allowed,
    is_redirect_uri_transport_allowed,
)
from provider_app.models import (
    AuditEvent,
    ClientPolicy,
    Consent,
    OutboundDelivery,
    ResourceServer,
    SignedInClient,
    SigningKey,
    TokenExchangePolicy,
)
from provider_app.two_factor import admin as two_factor_admin  # noqa: F401  (devices, users' 2FA column)

# --------------------------------------------------------------------------------------------------
# Admin for clients: a generated secret shown exactly once, rotation, and token revocation.
# --------------------------------------------------------------------------------------------------

Application = get_application_model()


class ApplicationAdminForm(forms.ModelForm):
    """No secret field: the server generates every secret (256+ bits) and hashes it at once."""

    class Meta:
        model = Application
        fields = [
            "name",
            "user",
            "client_type",
            "authorization_grant_type",
            "redirect_uris",
            "post_logout_redirect_uris",
            "allowed_origins",
            "skip_authorization",
        ]
        help_texts = {"skip_authorization": "First-party client: users are not asked for consent."}

    def clean_redirect_uris(self) -> str:
        uris = self.cleaned_data.get("redirect_uris", "")
        bad = [uri for uri in uris.split() if not is_redirect_uri_transport_allowed(uri)]
        if bad:
            raise forms.ValidationError(
                "http is only allowed for loopback hosts (127.0.0.1, [::1], localhost)."
            )
        return uris


class ClientPolicyForm(forms.ModelForm):
    class Meta:
        model = ClientPolicy
        fields = [
            "is_resource_server", "resource_identifiers", "require_two_factor",
            "backchannel_logout_uri", "backchannel_logout_session_required",
        ]  # fmt: skip

    def clean_backchannel_logout_uri(self) -> str:
        uri = self.cleaned_data.get("backchannel_logout_uri", "").strip()
        if uri and not is_backchannel_logout_uri_allowed(uri):
            raise forms.ValidationError(
                "An absolute https URL without fragment (http only for loopback hosts)."
            )
        return uri


class ClientPolicyInline(admin.StackedInline):
    """Per-client rules, the back-channel logout registration among them (OIDC BCL 2.2)."""

    model = ClientPolicy
    form = ClientPolicyForm
    can_delete = False
    extra = 1
    max_num = 1


class ApplicationAdmin(admin.ModelAdmin):
    form = ApplicationAdminForm
    inlines = [ClientPolicyInline]
    list_display = (
        "name",
        "client_id",
        "client_type",
        "authorization_grant_type",
        "skip_authorization",
        "tokens",
    )
    list_filter = ("client_type", "authorization_grant_type", "skip_authorization")
    search_fields = ("name", "client_id")
    raw_id_fields = ("user",)
    readonly_fields = ("client_id", "secret_actions")
    actions = ["revoke_all_tokens"]
    secret_template = "provider_app/admin/client_secret.html"

    def get_fields(self, request, obj=None):
        fields = list(self.form.Meta.fields)
        return ["client_id", *fields, "secret_actions"] if obj else fields

    @admin.display(description="client secret")
    def secret_actions(self, obj) -> str:
        url = reverse("admin:provider_app_application_rotate_secret", args=[obj.pk])
        return format_html('Stored hashed, never shown again. <a href="{}">Rotate the secret…</a>', url)

    @admin.display(description="active tokens")
    def tokens(self, obj) -> str:
        url = reverse("admin:oauth2_provider_accesstoken_changelist") + f"?application__id__exact={obj.pk}"
        return format_html('<a href="{}">list</a>', url)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.client_secret = generate_client_secret()
            request._new_client_secret = obj.client_secret
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_new_client_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._show_secret(request, obj, secret, created=True)

    def _show_secret(self, request, obj, secret: str, *, created: bool):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "application": obj,
            "client_secret": secret,
            "created": created,
            "title": "Client secret",
        }
        response = TemplateResponse(request, self.secret_template, context)
        response["Cache-Control"] = "no-store"
        return response

    def get_urls(self):
        rotate = path(
            "<path:object_id>/rotate-secret/",
            self.admin_site.admin_view(self.rotate_secret_view),
            name="provider_app_application_rotate_secret",
        )
        return [rotate, *super().get_urls()]

    def rotate_secret_view(self, request, object_id):
        # get_object() turns a malformed id into None (get_object_or_404 raised ValueError: a 500).
        application = self.get_object(request, unquote(object_id))
        if application is None:
            raise Http404("No such client.")
        if not self.has_change_permission(request, application):
            raise PermissionDenied
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "application": application,
            }
            return TemplateResponse(request, "provider_app/admin/rotate_secret_confirm.html", context)
        secret = generate_client_secret()
        with transaction.atomic():
            application.client_secret = secret
            application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
        self.log_change(request, application, "Rotated the client secret.")
        audit.record(audit.CLIENT_SECRET_ROTATED, request=request, application=application)
        return self._show_secret(request, application, secret, created=False)

    # P25: an action that changes data is offered only to staff who may change clients.
    @admin.action(description="Revoke every token of the selected clients", permissions=["change"])
    def revoke_all_tokens(self, request, queryset) -> None:
        # Their refresh tokens, and the tokens other services got by exchanging theirs (X7).
        count = tokens.revoke_access_tokens(get_access_token_model().objects.filter(application__in=queryset))
        tokens.revoke_refresh_tokens(get_refresh_token_model().objects.filter(application__in=queryset))
        for application in queryset:
            audit.record(audit.TOKEN_REVOKED, request=request, application=application, by="admin")
        self.message_user(
            request, f"Revoked {count} access tokens and their refresh tokens.", messages.SUCCESS
        )


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "application", "scope", "updated")
    list_filter = ("application",)
    raw_id_fields = ("user",)
    search_fields = ("user__username", "application__name")


class AccessTokenAdmin(dot_admin.access_token_admin_class):
    """DOT's access-token admin; its revoke action needs the change permission (P25)."""

    @admin.action(description="Revoke selected access tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        # With their refresh tokens and what was exchanged from them (X7), not DOT's token by token.
        count = tokens.revoke_access_tokens(queryset)
        self.message_user(request, f"Revoked {count} access tokens.", messages.SUCCESS)


class RefreshTokenAdmin(dot_admin.refresh_token_admin_class):
    """DOT's refresh-token admin; its revoke action needs the change permission (P25)."""

    @admin.action(description="Revoke selected refresh tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        # Each with its family and what was exchanged from it (P8, X7).
        count = tokens.revoke_refresh_tokens(queryset)
        self.message_user(
            request, f"Revoked the selected refresh tokens and {count} access tokens.", messages.SUCCESS
        )


for model, model_admin in (
    (Application, ApplicationAdmin),
    (get_access_token_model(), AccessTokenAdmin),
    (get_refresh_token_model(), RefreshTokenAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)


class ResourceServerForm(forms.ModelForm):
    class Meta:
        model = ResourceServer
        fields = [
            "identifier", "name", "scopes", "token_format", "access_token_lifetime",
            "allowed_clients", "client", "events_uri",
        ]  # fmt: skip

    def clean_identifier(self) -> str:
        from provider_app.internal.resources import check_identifier

        return self._checked(check_identifier, "identifier")

    def clean_events_uri(self) -> str:
        from provider_app.internal.resources import check_events_uri

        return self._checked(check_events_uri, "events_uri")

    def _checked(self, check, name: str) -> str:
        try:
            return check(self.cleaned_data[name])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    """Services that accept this provider's tokens: audience, scopes, token format, allowed clients."""

    form = ResourceServerForm
    list_display = ("name", "identifier", "token_format", "access_token_lifetime", "events_uri")
    list_filter = ("token_format",)
    search_fields = ("name", "identifier")
    filter_horizontal = ("allowed_clients",)
    raw_id_fields = ("client",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that provider_app alone writes: the admin lists them and never adds or edits one."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class TokenExchangePolicyForm(forms.ModelForm):
    class Meta:
        model = TokenExchangePolicy
        fields = ["application", "source_audiences", "target_audiences"]

    def clean(self):
        cleaned = super().clean()
        application = cleaned.get("application")
        foreign = [
            s
            for s in cleaned.get("source_audiences") or ()
            if s.client_id != getattr(application, "pk", None)
        ]
        if application is not None and foreign:
            # X3: only tokens issued for the client's own audience are exchanged; say so now.
            raise forms.ValidationError(
                f"{foreign[0]} is not this client's own resource server (its client is another one)."
            )
        return cleaned


@admin.register(TokenExchangePolicy)
class TokenExchangePolicyAdmin(admin.ModelAdmin):
    """RFC 8693 token exchange: which client may exchange tokens of which of its own audiences, for
    which target audiences (X2). The policy is the authority for exchange targets."""

    form = TokenExchangePolicyForm
    list_display = ("application", "updated")
    search_fields = ("application__name", "application__client_id")
    raw_id_fields = ("application",)
    filter_horizontal = ("source_audiences", "target_audiences")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    """The signing keys: kid, state and dates; never the private part. Rotation runs through
    ``manage.py provider_app_signing_keys`` (provider_app.internal.signing_keys)."""

    list_display = ("kid", "state", "created", "activated_at", "retire_after")
    list_filter = ("state",)
    fields = ("kid", "state", "created", "activated_at", "retire_after")
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        # A key still signing, or still needed for tokens it signed, is never deleted here
        # (`provider_app_signing_keys retire` removes retired keys once they are not needed).
        if obj is None or obj.state != SigningKey.RETIRED or obj.retire_after is None:
            return False
        from django.utils import timezone

        return obj.retire_after <= timezone.now() and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


# --------------------------------------------------------------------------------------------------
# Admin for the audit log: a read-only list with filters by event, date, client and user.
# --------------------------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: audit rows are written by :func:`provider_app.audit.record`, never by hand."""

    list_display = ("created", "event", "username", "client_id", "ip_address")
    list_filter = ("event", "created", "application")
    search_fields = ("username", "client_id", "ip_address", "event")
    date_hierarchy = "created"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    list_select_related = False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Retention is an operations task (delete old rows in SQL or a scheduled job), not a click.
        return False


# --------------------------------------------------------------------------------------------------
# Admin for the outbox and the sessions' clients: deliveries to see and retry, sessions to end (E6, L3).
# --------------------------------------------------------------------------------------------------


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(admin.ModelAdmin):
    """Deliveries to clients and services (E6): filter pending and failed ones, retry them now.

    Never shows a token: a row holds claims (no signature, nothing that could be replayed), and the
    claims themselves stay off the pages (a ``sid`` is not for everyone with admin access)."""

    list_display = ("created", "kind", "application", "target_url", "state", "attempts", "next_attempt_at")
    list_filter = ("state", "kind", "application")
    search_fields = ("target_url",)
    fields = (
        "kind", "application", "target_url", "state", "attempts", "created",
        "next_attempt_at", "expires_at", "delivered_at", "last_error",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["retry_now"]
    list_select_related = ("application",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected deliveries now", permissions=["change"])
    def retry_now(self, request, queryset) -> None:
        count = outbox.retry_now(queryset)
        self.message_user(request, f"{count} deliveries will be attempted now.", messages.SUCCESS)


@admin.register(SignedInClient)
class SignedInClientAdmin(admin.ModelAdmin):
    """Which clients each user's provider sessions signed in to; an action ends those sessions at
    the clients (a logout token to each, OIDC BCL 2.5)."""

    list_display = ("user", "application", "created")
    list_filter = ("application",)
    search_fields = ("user__username",)
    fields = ("user", "application", "created")
    readonly_fields = fields
    actions = ["end_sessions"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(
        description="Sign the selected users out of every client (back-channel logout)",
        permissions=["delete"],
    )
    def end_sessions(self, request, queryset) -> None:
        users = {row.user for row in queryset.select_related("user")}
        ended = sum(backchannel_logout.user_sessions_ended(user) for user in users)
        self.message_user(request, f"{ended} client sessions will receive a logout token.", messages.SUCCESS)
