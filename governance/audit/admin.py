from django.contrib import admin

from governance.audit.models import AuditEntry
from rmn_saas.admin_sites import platform_admin_site, tenant_admin_site


class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id", "outcome", "request_id"]
    list_filter = ["outcome", "action"]
    search_fields = ["actor", "action", "object_id", "request_id"]

    # Read-only everywhere: the database refuses changes anyway.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


platform_admin_site.register(AuditEntry, AuditEntryAdmin)
tenant_admin_site.register(AuditEntry, AuditEntryAdmin)
