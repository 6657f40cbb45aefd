"""Picks the tenant from the request's host; an unknown host is a 404 (JSON on API paths)."""

from __future__ import annotations

from django.http import HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware

from rmn_saas.errors import UNKNOWN_TENANT_MESSAGE, json_error


class TenantMiddleware(TenantMainMiddleware):
    def no_tenant_found(self, request, hostname):
        if request.path.startswith("/api/"):
            return json_error(404, "unknown_tenant", UNKNOWN_TENANT_MESSAGE, {"host": hostname})
        return HttpResponseNotFound(UNKNOWN_TENANT_MESSAGE)
