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
