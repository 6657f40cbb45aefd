from django.contrib import admin

from rmn_saas.admin_sites import tenant_admin_site
from tenants.jobs.models import Job


@admin.register(Job, site=tenant_admin_site)
class JobAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "status", "progress", "created_by", "finished_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [field.name for field in Job._meta.fields]

    def has_add_permission(self, request):
        return False
