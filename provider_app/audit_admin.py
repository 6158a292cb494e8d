"""Admin for the audit log: a read-only list with filters by event, date, client and user."""

from __future__ import annotations

from django.contrib import admin

from provider_app.audit_models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit rows are written by :func:`provider_app.audit.record`, never by hand."""

    list_display = ("created", "event", "username", "client_id", "ip_address")
    list_filter = ("event", "created", "application")
    search_fields = ("username", "client_id", "ip_address", "event")
    date_hierarchy = "created"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    list_select_related = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Retention is an operations task (delete old rows in SQL or a scheduled job), not a click.
        return False
