"""The navigation each kind of tenant sees, as data: later features add entries here, not in templates."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import TenantKind


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    kinds: tuple[str, ...] = (TenantKind.BRAND, TenantKind.RETAILER)
    admin_only: bool = False


NAV_ITEMS = (
    NavItem("Dashboard", "pages:dashboard"),
    NavItem("Data sources", "pages:data"),
    NavItem("Performance", "pages:performance"),
    NavItem("Plans", "pages:plans"),
    NavItem("Experiments", "pages:experiments"),
    NavItem("Leases", "pages:leases"),
    NavItem("Adapters", "pages:adapters"),
    NavItem("Playground", "pages:generate"),
    NavItem("Jobs", "pages:jobs"),
    NavItem("API keys", "pages:api-keys", admin_only=True),
    NavItem("Audit log", "pages:audit", admin_only=True),
)

WORKSPACE_TITLES = {TenantKind.BRAND: "Brand workspace", TenantKind.RETAILER: "Retailer workspace"}


def nav_for(*, kind: str, is_admin: bool) -> list[NavItem]:
    return [item for item in NAV_ITEMS if kind in item.kinds and (is_admin or not item.admin_only)]
