"""Two-factor in the Django admin: who has it, and removing a lost device (audited).

The admin site that refuses staff without a second factor is in :mod:`.admin_site`.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app import audit
from provider_app.internal import compat


class TOTPDeviceAdmin(admin.ModelAdmin):
    """Authenticator apps: listed, never shown (no key, no QR code), removable when lost."""

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    list_filter = ("confirmed",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    readonly_fields = fields
    search_fields = (f"user__{get_user_model().USERNAME_FIELD}", "name")

    def has_add_permission(self, request) -> bool:
        return False  # users enrol their own devices; a key typed by someone else is not a factor

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        self._record_removal(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for device in queryset:
            self._record_removal(request, device)
        super().delete_queryset(request, queryset)

    @staticmethod
    def _record_removal(request, device) -> None:
        audit.record(
            audit.TWO_FACTOR_DEVICE_REMOVED,
            request=request,
            user=device.user,
            device_id=device.pk,
            by="admin",
        )


class TwoFactorFilter(admin.SimpleListFilter):
    title = "two-factor"
    parameter_name = "two_factor"

    def lookups(self, request, model_admin):
        return [("yes", "enabled"), ("no", "not enabled")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(has_two_factor=self.value() == "yes")
        return queryset


def user_admin_with_two_factor(base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """The project's user admin plus a "two-factor" column and filter (one query, no N+1)."""

    class UserAdmin(base):
        list_display = (*base.list_display, "two_factor")
        list_filter = (*base.list_filter, TwoFactorFilter)

        def get_queryset(self, request):
            devices = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
            return super().get_queryset(request).annotate(has_two_factor=Exists(devices))

        @admin.display(boolean=True, description="two-factor", ordering="has_two_factor")
        def two_factor(self, obj) -> bool:
            return bool(getattr(obj, "has_two_factor", False))

    UserAdmin.__name__ = UserAdmin.__qualname__ = f"TwoFactor{base.__name__}"
    return UserAdmin


def register(site: admin.AdminSite) -> None:
    if site.is_registered(TOTPDevice):
        site.unregister(TOTPDevice)  # django-otp's admin shows the key and its QR code
    site.register(TOTPDevice, TOTPDeviceAdmin)
    User = get_user_model()
    if site.is_registered(User):
        base = type(compat.registered_admin(site, User))
        site.unregister(User)
        site.register(User, user_admin_with_two_factor(base))


register(admin.site)
