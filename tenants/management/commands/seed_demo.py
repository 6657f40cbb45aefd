"""Create the demo tenants and users (idempotent): brand acme, retailer megamart and the platform."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.models import Role, TenantKind
from tenants.services import tenant_ensure, user_ensure

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - documented demo credential for local runs
DEMO_TENANTS = (
    ("public", "RMN Copilot Platform", TenantKind.PLATFORM),
    ("acme", "Acme Foods", TenantKind.BRAND),
    ("megamart", "MegaMart", TenantKind.RETAILER),
)


class Command(BaseCommand):
    help = "Create the demo tenants (platform, acme, megamart) and their admin, analyst and viewer users."

    def handle(self, *args, **options) -> None:
        base = settings.RMN_BASE_DOMAIN
        for slug, name, kind in DEMO_TENANTS:
            tenant = tenant_ensure(slug=slug, name=name, kind=kind, base_domain=base)
            prefix = "platform" if kind == TenantKind.PLATFORM else slug
            for role in (Role.ADMIN, Role.ANALYST, Role.VIEWER):
                user_ensure(tenant=tenant, username=f"{prefix}-{role}", password=DEMO_PASSWORD, role=role,
                            email=f"{prefix}-{role}@example.com")
            self.stdout.write(f"{name}: {kind} tenant on {tenant.domains.first().domain}")
