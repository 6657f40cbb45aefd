"""Create the demo tenants and users (idempotent): brand acme, retailer megamart and the platform, and load
acme's year of demo exports (every network's real format, generated from a known truth) through the harmonizer."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from tenants.models import Role, TenantKind
from tenants.services import tenant_ensure, user_ensure

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - documented demo credential for local runs
# Catalog first so product ids resolve; the restatement last so it replaces what it restates.
DEMO_FILES = (
    "catalog.csv", "amazon_sp_search_term_seller.csv", "amazon_sp_search_term_vendor_new.csv",
    "walmart_ui_download.csv", "walmart_api_snapshot.csv.gz", "instacart_legacy.csv", "instacart_v3.csv",
    "megamart_criteo.csv", "megamart_criteo.xlsx", "sales_inventory.csv",
    "restated/amazon_sp_search_term_seller_restated.csv",
)
DEMO_TENANTS = (
    ("public", "RMN Copilot Platform", TenantKind.PLATFORM),
    ("acme", "Acme Foods", TenantKind.BRAND),
    ("megamart", "MegaMart", TenantKind.RETAILER),
)


class Command(BaseCommand):
    help = ("Create the demo tenants (platform, acme, megamart) with admin, analyst and viewer users, and load "
            "acme's demo exports (skip with --no-data).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-data", action="store_true", help="tenants and users only")

    def handle(self, *args, **options) -> None:
        base = settings.RMN_BASE_DOMAIN
        for slug, name, kind in DEMO_TENANTS:
            tenant = tenant_ensure(slug=slug, name=name, kind=kind, base_domain=base)
            prefix = "platform" if kind == TenantKind.PLATFORM else slug
            for role in (Role.ADMIN, Role.ANALYST, Role.VIEWER):
                user_ensure(tenant=tenant, username=f"{prefix}-{role}", password=DEMO_PASSWORD, role=role,
                            email=f"{prefix}-{role}@example.com")
            self.stdout.write(f"{name}: {kind} tenant on {tenant.domains.first().domain}")
        if not options["no_data"]:
            self._load_demo_data()

    def _load_demo_data(self) -> None:
        from campaigns.demo import generate_demo
        from campaigns.harmonize import IngestOptions, ingest_file
        from campaigns.harmonize.pipeline import file_already_loaded

        folder = settings.DATA_DIR / "demo"
        if not (folder / "manifest.json").exists():
            self.stdout.write(f"generating the demo exports into {folder} ...")
            generate_demo(folder)
        with schema_context("acme"):
            for name in DEMO_FILES:
                path = folder / name
                if file_already_loaded(path):
                    continue
                result = ingest_file(path=path, file_name=path.name, actor="seed_demo", options=IngestOptions())
                summary = result.to_dict()
                self.stdout.write(f"  {name}: {summary['format']}, {summary['rows_loaded']:,} rows loaded, "
                                  f"{summary['rows_replaced']:,} replaced")
