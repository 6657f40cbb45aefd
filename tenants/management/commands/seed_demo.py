"""Create the demo tenants and users (idempotent): brand acme, retailer megamart (with its demo ad policies) and
the platform; load acme's year of demo exports (every network's real format, generated from a known truth)
through the harmonizer, and MegaMart's clean room with two leases to acme."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from governance.policies.demo import demo_policy_ensure
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
            if slug == "megamart" and demo_policy_ensure(retailer=tenant):
                self.stdout.write(f"  {name}: demo ad policies loaded and active")
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
        self._load_clean_room()

    def _load_clean_room(self) -> None:
        """MegaMart's clean room (about a million exposures and purchases with a known true lift, the truth in
        `.data/demo/cleanroom_truth.json`) and two leases to acme: exact aggregates at k = 50, and a DP one."""
        import json

        from governance.cleanroom.demo import generate
        from governance.cleanroom.models import Exposure
        from tenants.leases import lease_grant
        from tenants.models import Lease, Tenant

        with schema_context("megamart"):
            if not Exposure.objects.exists():
                self.stdout.write("generating MegaMart's clean room (about 20 s) ...")
                truth = generate()
                (settings.DATA_DIR / "demo" / "cleanroom_truth.json").write_text(json.dumps(truth, indent=2))
                self.stdout.write(f"  {truth['exposures']:,} exposures, {truth['purchases']:,} purchases")
        megamart = Tenant.objects.get(slug="megamart")
        if not Lease.objects.filter(retailer=megamart).exists():
            with schema_context("megamart"):
                for terms in ({"agents": ["measurement", "planner"]},
                              {"dp": True, "epsilon_budget": 5.0, "epsilon_per_query": 0.5, "agents": ["planner"]}):
                    lease = lease_grant(retailer=megamart, actor="seed_demo", data={"brand": "acme", "days": 365,
                                                                                     "fixed_fee": "2500.00",
                                                                                     "incremental_share": "0.05",
                                                                                     **terms})
                    self.stdout.write(f"  lease {lease.pk}: megamart → acme (dp={lease.dp})")
