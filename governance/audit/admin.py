from governance.audit.models import AuditEntry
from rmn_saas.admin_sites import ReadOnlyAdmin, platform_admin_site, tenant_admin_site


class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id", "outcome", "request_id"]
    list_filter = ["outcome", "action"]
    search_fields = ["actor", "action", "object_id", "request_id"]

    deletable = False  # read-only everywhere: the database refuses changes anyway


platform_admin_site.register(AuditEntry, AuditEntryAdmin)
tenant_admin_site.register(AuditEntry, AuditEntryAdmin)
