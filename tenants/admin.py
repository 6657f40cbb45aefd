from django.contrib import admin
from django.db import connection

from rmn_saas.admin_sites import platform_admin_site, tenant_admin_site
from tenants.models import ApiKey, Domain, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant, site=platform_admin_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "schema_name", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    inlines = [DomainInline]

    def get_readonly_fields(self, request, obj=None):
        # A schema name never changes once the schema exists.
        return ["schema_name"] if obj else []


class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "key_id", "role", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["tenant", "key_id", "key_hash", "created_by", "last_used_at", "created_at", "updated_at"]
    list_filter = ["role"]

    def has_add_permission(self, request):
        return False  # keys are created on the API-keys page or API, where the full key is shown once


@admin.register(ApiKey, site=platform_admin_site)
class PlatformApiKeyAdmin(ApiKeyAdmin):
    list_display = ["tenant", *ApiKeyAdmin.list_display]


@admin.register(ApiKey, site=tenant_admin_site)
class TenantApiKeyAdmin(ApiKeyAdmin):
    def get_queryset(self, request):
        # The api-key table is public: a tenant admin sees only rows of the tenant on this connection.
        return super().get_queryset(request).filter(tenant__schema_name=connection.schema_name)
