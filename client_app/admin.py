"""Admin for providers (the client secret is write-only), account links and token sets (metadata only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models

from client_app.internal import metadata
from client_app.models import PendingLogin, Provider, SocialAccount, TokenSet


def https_url_formfield(model_field, **kwargs):
    """Endpoint URLs typed without a scheme are https (Django 6's default, asked for on 5.2 too)."""
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)


class ProviderForm(forms.ModelForm):
    """The stored secret is never sent back to the browser: the field is empty, and left empty it keeps it."""

    new_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted, never shown again. Leave empty to keep the current one.",
    )

    class Meta:
        model = Provider
        formfield_callback = https_url_formfield
        fields = [
            "name",
            "slug",
            "enabled",
            "position",
            "issuer",
            "client_id",
            "token_endpoint_auth_method",
            "scopes",
            "resources",
            "extra_authorization_params",
            "id_token_signing_algs",
            "subject_claim",
            "use_discovery",
            *metadata.ENDPOINT_FIELDS,
            "trust_email_verified",
            "logout_at_provider",
            "logout_send_id_token_hint",
            "revoke_tokens_on_logout",
        ]

    #: Where the client secret (and the user's code and PKCE verifier) is sent, directly or through
    #: discovery: changing any of these requires entering the secret again (C16).
    SECRET_DESTINATION_FIELDS = ("issuer", "use_discovery", *metadata.ENDPOINT_FIELDS)

    def clean(self):
        cleaned_data = super().clean()
        changed = [name for name in self.SECRET_DESTINATION_FIELDS if name in self.changed_data]
        if (
            self.instance.pk
            and self.instance.client_secret
            and changed
            and not cleaned_data.get("new_client_secret")
        ):
            # Otherwise staff allowed to change providers could point the token endpoint at their own
            # server and receive the stored secret (and users' codes) at the next login.
            self.add_error(
                "new_client_secret",
                "Enter the client secret again: the issuer or an endpoint changed ("
                + ", ".join(changed)
                + "), and the stored secret is never sent to a new destination.",
            )
        return cleaned_data

    def save(self, commit: bool = True):
        provider = super().save(commit=False)
        if self.cleaned_data.get("new_client_secret"):
            provider.client_secret = self.cleaned_data["new_client_secret"]
        if commit:
            provider.save()
        return provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ["name", "slug", "issuer", "client_id", "enabled", "has_secret"]
    list_filter = ["enabled"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["refresh_metadata"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "enabled", "position"]}),
        (
            "Registration",
            {"fields": ["issuer", "client_id", "new_client_secret", "token_endpoint_auth_method"]},
        ),
        (
            "Request",
            {
                "fields": [
                    "scopes",
                    "resources",
                    "extra_authorization_params",
                    "id_token_signing_algs",
                    "subject_claim",
                ]
            },
        ),
        (
            "Endpoints (filled in by discovery; a value here wins)",
            {
                "classes": ["collapse"],
                "fields": ["use_discovery", *metadata.ENDPOINT_FIELDS],
            },
        ),
        (
            "Accounts and logout",
            {
                "fields": [
                    "trust_email_verified",
                    "logout_at_provider",
                    "logout_send_id_token_hint",
                    "revoke_tokens_on_logout",
                ]
            },
        ),
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(boolean=True, description="secret set")
    def has_secret(self, provider: Provider) -> bool:
        return bool(provider.client_secret)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        metadata.forget(obj)

    @admin.action(description="Forget cached discovery and keys")
    def refresh_metadata(self, request, queryset):
        for provider in queryset:
            metadata.forget(provider)
        self.message_user(
            request, "Cached metadata dropped; it is fetched again on next use.", messages.SUCCESS
        )


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "provider", "sub", "last_login"]
    list_filter = ["provider"]
    search_fields = ["user__username", "sub"]
    readonly_fields = ["issuer", "sub", "claims", "created", "last_login"]
    raw_id_fields = ["user"]


@admin.register(TokenSet)
class TokenSetAdmin(admin.ModelAdmin):
    """Shows when tokens expire, never the tokens (C8)."""

    list_display = ["user", "provider", "expires_at", "has_refresh_token", "updated"]
    list_filter = ["provider"]
    fields = ["user", "provider", "token_type", "scope", "expires_at", "version", "updated"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(boolean=True, description="refresh token")
    def has_refresh_token(self, token_set: TokenSet) -> bool:
        return bool(token_set.refresh_token)


@admin.register(PendingLogin)
class PendingLoginAdmin(admin.ModelAdmin):
    list_display = ["provider", "action", "created", "expires_at"]
    fields = ["provider", "action", "redirect_uri", "next_url", "created", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
