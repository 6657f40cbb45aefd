"""Two Django admins: the platform's on the public domain (every tenant) and each tenant's on its own domain.

A tenant admin site shows only models stored in that tenant's schema, or public rows filtered to that tenant.
"""

from django.contrib import admin


class TenantAdminSite(admin.AdminSite):
    site_header = "RMN Copilot — tenant admin"
    site_title = "RMN Copilot"
    index_title = "Your organization"


platform_admin_site = admin.site
platform_admin_site.site_header = "RMN Copilot — platform admin"
platform_admin_site.site_title = "RMN Copilot platform"
tenant_admin_site = TenantAdminSite(name="tenant_admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the system writes: admins read them, the product changes them. `deletable = False` also keeps admins
    from removing them, for records that are evidence (audit entries, ingest batches)."""

    deletable = True

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)
