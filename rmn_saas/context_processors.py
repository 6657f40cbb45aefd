from __future__ import annotations

from rmn_saas.navigation import WORKSPACE_TITLES, nav_for


def navigation(request) -> dict:
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    if tenant is None or tenant.is_platform or user is None or not user.is_authenticated:
        return {"nav_items": [], "workspace_title": ""}
    return {
        "nav_items": nav_for(kind=tenant.kind, is_admin=getattr(user, "is_tenant_admin", False)),
        "workspace_title": WORKSPACE_TITLES.get(tenant.kind, ""),
    }
