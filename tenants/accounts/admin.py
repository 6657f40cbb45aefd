from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from rmn_saas.admin_sites import platform_admin_site, tenant_admin_site
from tenants.accounts.models import User


class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("RMN", {"fields": ("role",)}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("RMN", {"fields": ("role",)}))


platform_admin_site.register(User, UserAdmin)
tenant_admin_site.register(User, UserAdmin)
